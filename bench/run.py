"""pipechat load benchmark: starts the server, drives it with socket.io-client (Node), reports.

    .venv/bin/python bench/run.py                      # (a)-(d) on SQLite
    .venv/bin/python bench/run.py --baseline           # ... plus python-socketio defaults, ratios
    .venv/bin/python bench/run.py --database postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/run.py --workloads a,b --scale 0.1   # a quick look
    .venv/bin/python bench/run.py --workloads e --database postgresql://...  # 1 vs 2 processes
    .venv/bin/python bench/run.py --chat-list [--database postgresql://...]  # GET /chats
    .venv/bin/python bench/run.py --workloads d --members 50 --typing 5   # with typing

Prints progress on stderr, one JSON object per workload and target on stdout (lines starting
with `{`), then a table and the targets of issue 5 ((a)-(d)) and issue 12 ((e)). Exit status 1
when a run lost, duplicated or failed anything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import list_explain
import procstat
import report
from deployment import Deployment
from servers import BENCH_DIR
from workloads import Workload, build, scale_out

Result = dict[str, Any]

# (e)'s Redis when neither --scale-out-redis nor --redis is given.
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def ensure_node_modules() -> None:
    """Install the pinned socket.io-client from package-lock.json on first use."""
    if not (BENCH_DIR / "node_modules" / "socket.io-client").is_dir():
        print("installing bench/node_modules (npm ci)...", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=BENCH_DIR, check=True)


def start_profiler(pid: int, path: Path) -> subprocess.Popen[bytes]:
    """py-spy (if installed) sampling the server; stacks go to `path` in collapsed form."""
    path.parent.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    # BENCH_PYSPY_FLAGS, e.g. "--gil", narrows the samples to the thread holding the GIL.
    extra = os.environ.get("BENCH_PYSPY_FLAGS", "").split()
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--rate", "250", "--format",
                             "raw", "--nonblocking", *extra, "--output", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    """Stop py-spy so it writes its file."""
    if profiler is not None and profiler.poll() is None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)


def drive(deployment: Deployment, spec: dict[str, Any], timeout: float,
          profile: Path | None = None) -> tuple[Result, dict[str, Any]]:
    """Run the load generator against `deployment`; returns its result and the servers' figures
    (CPU and memory summed over the server processes)."""
    pids = deployment.pids
    profilers: list[subprocess.Popen[bytes]] = []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec_file:
        json.dump(spec, spec_file)
    marks: dict[str, procstat.Sample] = {}
    apart: dict[str, list[procstat.Sample]] = {}
    result: Result | None = None
    # BENCH_NODE_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p", profiles the load generator.
    node_flags = os.environ.get("BENCH_NODE_FLAGS", "").split()
    node = subprocess.Popen(["node", *node_flags, str(BENCH_DIR / "loadgen.mjs"), spec_file.name],
                            cwd=BENCH_DIR, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        with procstat.PeakRss(*pids) as peak:
            assert node.stdout is not None
            for line in node.stdout:
                event = json.loads(line)
                kind = event["event"]
                if kind == "start":
                    peak.reset()
                    if profile is not None:
                        profilers = [start_profiler(pid, _numbered(profile, i, len(pids)))
                                     for i, pid in enumerate(pids)]
                if kind == "end":
                    for profiler in profilers:
                        stop_profiler(profiler)
                if kind in ("start", "connected", "held", "end"):
                    marks[kind] = procstat.sample(*pids)
                    if kind in ("start", "end") and len(pids) > 1:
                        apart[kind] = [procstat.sample(pid) for pid in pids]
                elif kind == "result":
                    result = event["result"]
                elif kind == "error":
                    raise RuntimeError(f"load generator failed: {event['error']}")
                if time.monotonic() > deadline:
                    raise TimeoutError("load generator ran past --timeout")
            peak_bytes = peak.peak
    finally:
        for profiler in profilers:
            stop_profiler(profiler)
        if node.poll() is None:
            node.kill()
        node.wait()
        Path(spec_file.name).unlink(missing_ok=True)
    if result is None:
        raise RuntimeError(f"load generator exited with {node.returncode} and no result")
    figures: dict[str, Any] = procstat.window(marks["start"], marks["end"])
    figures["rssPeakMiB"] = round(peak_bytes / 2**20, 1)
    if apart:
        figures["cpuSecondsPerProcess"] = [
            round(end.cpu_seconds - start.cpu_seconds, 3)
            for start, end in zip(apart["start"], apart["end"], strict=True)]
    if "connected" in marks and result.get("connected"):
        # The server's CPU from the first connect to the last, per connect: steadier than the
        # rate on a shared machine.
        connecting = marks["connected"].cpu_seconds - marks["start"].cpu_seconds
        figures["cpuMillisPerConnect"] = round(1000 * connecting / result["connected"], 3)
    if "held" in marks and result.get("connected"):
        grown = marks["held"].rss_bytes - marks["start"].rss_bytes
        result["memoryPerConnectionKiB"] = round(grown / result["connected"] / 1024, 2)
        figures["rssHeldMiB"] = round(marks["held"].rss_bytes / 2**20, 1)
    return result, figures


def _numbered(path: Path, index: int, count: int) -> Path:
    """`path` itself for one process; `name-<index>.txt` for each of several."""
    return path if count == 1 else path.with_name(f"{path.stem}-{index}{path.suffix}")


def run_one(target: str, workload: Workload, args: argparse.Namespace,
            processes: int = 1) -> Result:
    """One workload against fresh servers of `target` (`processes` of them behind Redis when
    more than one); the servers are stopped afterwards."""
    pipechat = target != "baseline"
    redis = args.redis if processes == 1 else (args.scale_out_redis or args.redis
                                               or DEFAULT_REDIS)
    deployment = Deployment("pipechat" if pipechat else "baseline", processes,
                            http_server=args.server if pipechat else "uvicorn",
                            postgres_admin_url=args.database if pipechat else None,
                            redis_url=redis if pipechat else None)
    where = f" on {deployment.database}" if pipechat else ""
    shared = " (one SQLite file shared by the processes)" if (
        processes > 1 and deployment.database == "sqlite") else ""
    print(f"== ({workload.name}) {workload.title} -- {target}{where}{shared}", file=sys.stderr)
    try:
        deployment.start()
        started = time.monotonic()
        users = deployment.make_users(workload.users,
                                      prefix=f"b{workload.name.replace('.', '')}")
        print(f"  {len(users)} users ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        spec = workload.spec | {"url": deployment.urls[0], "urls": deployment.urls,
                                "users": [{"id": u.id, "token": u.token} for u in users],
                                "loadgenThreads": args.loadgen_threads}
        profile = (args.profile / f"{workload.name}-{target}.txt") if args.profile else None
        loadgen, figures = drive(deployment, spec, args.timeout, profile)
        saved = deployment.count_saved(loadgen.get("chatIds", []))
        figures |= deployment.commit_figures()
    except BaseException:
        print(deployment.log_tail(), file=sys.stderr)
        raise
    finally:
        deployment.stop(keep=args.keep)
    result: Result = {"workload": workload.name, "title": workload.title, "target": target,
                      "kind": workload.spec["kind"], "database": deployment.database,
                      "processes": processes, "redis": bool(deployment.redis_url)}
    result |= loadgen
    result["saved"] = saved
    result["server"] = figures
    if result.get("deliveriesReceived"):
        # CPU per delivery compares runs on a busy machine better than rates do.
        figures["cpuMicrosPerDelivery"] = round(
            1e6 * figures["cpuSeconds"] / result["deliveriesReceived"], 1)
    if result.get("acked"):
        # Per message: what issue 13's marks (which deliver no message) are compared against.
        figures["cpuMicrosPerMessage"] = round(1e6 * figures["cpuSeconds"] / result["acked"])
    # Across processes a room's messages may arrive out of id order: a figure, not an error.
    result["errors"] = _errors(result, reorder_is_error=processes == 1)
    return result


def _errors(result: Result, reorder_is_error: bool = True) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for key in ("ackTimeouts", "unexpected", "reordered", "corrupted", "duplicateIds",
                "connectErrors", "disconnectsWhileHeld", "typingErrors"):
        if key == "reordered" and not reorder_is_error:
            continue
        if result.get(key):
            errors[key] = result[key]
    if result.get("ackErrors"):
        errors["ackErrors"] = result["ackErrors"]
    if result.get("saved") is not None and result["saved"] != result.get("acked"):
        errors["savedNotAcked"] = result["saved"] - (result.get("acked") or 0)
    return errors


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="a,b,c,d",
                        help="comma-separated, from a,b,c,d,e; e is (a), (b), (d) on one process "
                        "and on two behind Redis, side by side")
    parser.add_argument("--database", help="postgresql://user@host:port/db; a fresh database is "
                        "created on that server for each workload and dropped afterwards")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn",
                        help="HTTP server for pipechat: `pipechat serve` (uvicorn) or granian")
    parser.add_argument("--redis", help="run the server with this PIPECHAT_REDIS_URL (one "
                        "process, (e)'s one-process runs included)")
    parser.add_argument("--scale-out-redis", help="PIPECHAT_REDIS_URL of (e)'s two processes "
                        f"(default: --redis, else {DEFAULT_REDIS}); each run has a fresh "
                        "PIPECHAT_REDIS_CHANNEL")
    parser.add_argument("--baseline", action="store_true",
                        help="also run python-socketio + uvicorn at defaults, no DB; show ratios")
    parser.add_argument("--baseline-only", action="store_true",
                        help="run only the baseline (checks the harness itself)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply message counts and (d)'s duration (0.1 for a quick look)")
    parser.add_argument("--connections", type=int, default=10000, help="(c) connections")
    parser.add_argument("--hold", type=float, default=30, help="(c) seconds to hold them")
    parser.add_argument("--idle-users", type=int, default=500,
                        help="(c) users the connections belong to, in turn")
    parser.add_argument("--loadgen-threads", type=int, default=2,
                        help="(c) load generator threads sharing the connects (one Node event "
                        "loop caps at about 2,000 connects/s)")
    parser.add_argument("--rate", type=float, default=1000, help="(d) messages/s in total")
    parser.add_argument("--seconds", type=float, default=20, help="(d) seconds of load")
    parser.add_argument("--mark-every", type=float, default=0,
                        help="(d) each member marks its newest message read every N s (0: never)")
    parser.add_argument("--rooms", type=int, default=20, help="(b), (d) rooms")
    parser.add_argument("--members", type=int, default=10, help="(b), (d) members per room")
    parser.add_argument("--typing", type=float, default=0,
                        help="(a), (b), (d): each sender also renews `typing` this many times "
                        "a second while sending (issue 14: 5)")
    parser.add_argument("--typists", choices=["senders", "all"], default="senders",
                        help="with --typing: who types, each room's senders or every member")
    parser.add_argument("--timeout", type=float, default=900, help="per workload, seconds")
    parser.add_argument("--json", type=Path, help="also write all results to this file")
    parser.add_argument("--profile", type=Path,
                        help="record py-spy stacks of the server into this directory")
    parser.add_argument("--keep", action="store_true", help="keep server data dirs and logs")
    parser.add_argument("--chat-list", action="store_true",
                        help="instead of the workloads: GET /chats by activity for a user in "
                        "1,000 chats of 1,000,000 messages (bench/list_explain.py), on SQLite "
                        "or --database; the sizes below")
    list_explain.add_arguments(parser.add_argument_group("--chat-list"))
    return parser.parse_args(argv)


def run_workload(name: str, targets: list[str], args: argparse.Namespace) -> list[Result]:
    """One workload of the command line against each target; (e) is (a), (b), (d) on one
    process and then on two behind Redis. Prints each result's JSON line."""
    if name == "e":
        pairs = [(workload, [("pipechat", 1), (report.SCALE_OUT, 2)])
                 for workload in scale_out(args.scale, args.rate, args.seconds, args.rooms,
                                           args.members)]
    else:
        workload = build(name, args.scale, args.connections, args.hold, args.rate,
                         args.seconds, args.rooms, args.members, args.typing,
                         args.idle_users, args.typists, args.mark_every)
        pairs = [(workload, [(target, 1) for target in targets])]
    results: list[Result] = []
    for workload, runs in pairs:
        pair = {target: run_one(target, workload, args, processes)
                for target, processes in runs}
        if "baseline" in pair and "pipechat" in pair:
            pair["pipechat"]["ratioToBaseline"] = report.ratios(pair["pipechat"],
                                                                pair["baseline"])
        if report.SCALE_OUT in pair:
            pair[report.SCALE_OUT]["ratioToOneProcess"] = report.ratios(pair[report.SCALE_OUT],
                                                                        pair["pipechat"])
        for result in pair.values():
            print(json.dumps(result), flush=True)
        results.extend(pair.values())
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads, print JSON lines, the table and the targets."""
    args = parse_args(argv)
    if args.chat_list:
        args.database = args.database or "sqlite"
        asyncio.run(list_explain.run(args))  # the target's line is printed, met or not
        return 0
    ensure_node_modules()
    targets = ["pipechat", "baseline"] if args.baseline else ["pipechat"]
    if args.baseline_only:
        targets = ["baseline"]
    results: list[Result] = []
    for name in args.workloads.split(","):
        results.extend(run_workload(name.strip(), targets, args))
    print("\n" + report.table(results))
    checks = [(5, *check) for check in report.check_targets(results)]
    checks += [(12, *check) for check in report.check_connect_storm(results)]
    checks += [(12, *check) for check in report.check_scale_out(results)]
    for issue in (5, 12):
        if any(number == issue for number, *_ in checks):
            print(f"\ntargets (issue {issue}):")
        for name, met, figures in (check[1:] for check in checks if check[0] == issue):
            print(f"  [{'met' if met else 'NOT met'}] {name}: {figures}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "targets": [
            {"issue": i, "target": n, "met": m, "figures": f} for i, n, m, f in checks]},
            indent=2))
    clean = all(met for _, name, met, _ in checks if "zero loss" in name)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
