"""pipechat load benchmark: starts the server, drives it with socket.io-client (Node), reports.

    .venv/bin/python bench/run.py                      # (a)-(d) on SQLite
    .venv/bin/python bench/run.py --baseline           # ... plus python-socketio defaults, ratios
    .venv/bin/python bench/run.py --database postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/run.py --workloads a,b --scale 0.1   # a quick look

Prints progress on stderr, one JSON object per workload and target on stdout (lines starting
with `{`), then a table and the targets of issue 5. Exit status 1 when a run lost, duplicated
or failed anything.
"""

from __future__ import annotations

import argparse
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

import procstat
import report
from servers import BENCH_DIR, Server
from workloads import Workload, build

Result = dict[str, Any]


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


def drive(server: Server, spec: dict[str, Any], timeout: float,
          profile: Path | None = None) -> tuple[Result, dict[str, Any]]:
    """Run the load generator against `server`; returns its result and the server's figures."""
    assert server.process is not None
    pid = server.process.pid
    profiler: subprocess.Popen[bytes] | None = None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec_file:
        json.dump(spec, spec_file)
    marks: dict[str, procstat.Sample] = {}
    result: Result | None = None
    # BENCH_NODE_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p", profiles the load generator.
    node_flags = os.environ.get("BENCH_NODE_FLAGS", "").split()
    node = subprocess.Popen(["node", *node_flags, str(BENCH_DIR / "loadgen.mjs"), spec_file.name],
                            cwd=BENCH_DIR, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        with procstat.PeakRss(pid) as peak:
            assert node.stdout is not None
            for line in node.stdout:
                event = json.loads(line)
                kind = event["event"]
                if kind == "start":
                    peak.reset()
                    if profile is not None:
                        profiler = start_profiler(pid, profile)
                if kind == "end":
                    stop_profiler(profiler)
                if kind in ("start", "connected", "held", "end"):
                    marks[kind] = procstat.sample(pid)
                elif kind == "result":
                    result = event["result"]
                elif kind == "error":
                    raise RuntimeError(f"load generator failed: {event['error']}")
                if time.monotonic() > deadline:
                    raise TimeoutError("load generator ran past --timeout")
            peak_bytes = peak.peak
    finally:
        stop_profiler(profiler)
        if node.poll() is None:
            node.kill()
        node.wait()
        Path(spec_file.name).unlink(missing_ok=True)
    if result is None:
        raise RuntimeError(f"load generator exited with {node.returncode} and no result")
    figures: dict[str, Any] = procstat.window(marks["start"], marks["end"])
    figures["rssPeakMiB"] = round(peak_bytes / 2**20, 1)
    if "held" in marks and result.get("connected"):
        grown = marks["held"].rss_bytes - marks["start"].rss_bytes
        result["memoryPerConnectionKiB"] = round(grown / result["connected"] / 1024, 2)
        figures["rssHeldMiB"] = round(marks["held"].rss_bytes / 2**20, 1)
    return result, figures


def run_one(target: str, workload: Workload, args: argparse.Namespace) -> Result:
    """One workload against a fresh server of `target`; the server is stopped afterwards."""
    postgres = args.database if target == "pipechat" and args.database else None
    env = {"PIPECHAT_REDIS_URL": args.redis,
           "PIPECHAT_REDIS_CHANNEL": f"bench-{time.time_ns()}"} if args.redis else {}
    server = Server(target, postgres_admin_url=postgres, extra_env=env,
                    http_server=args.server if target == "pipechat" else "uvicorn")
    print(f"== ({workload.name}) {workload.title} -- {target}"
          f"{' on ' + ('postgresql' if postgres else 'sqlite') if target == 'pipechat' else ''}",
          file=sys.stderr)
    try:
        server.start()
        started = time.monotonic()
        users = server.make_users(workload.users, prefix=f"b{workload.name}")
        print(f"  {len(users)} users ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        spec = workload.spec | {"url": server.url,
                                "users": [{"id": u.id, "token": u.token} for u in users]}
        profile = (args.profile / f"{workload.name}-{target}.txt") if args.profile else None
        loadgen, figures = drive(server, spec, args.timeout, profile)
        saved = server.count_saved(loadgen.get("chatIds", []))
        figures |= server.commit_figures()
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(server.workdir, ignore_errors=True)
    result: Result = {"workload": workload.name, "title": workload.title, "target": target,
                      "kind": workload.spec["kind"],
                      "database": None if target == "baseline" else ("postgresql" if postgres
                                                                      else "sqlite")}
    result |= loadgen
    result["saved"] = saved
    result["server"] = figures
    if result.get("deliveriesReceived"):
        # CPU per delivery compares runs on a busy machine better than rates do.
        figures["cpuMicrosPerDelivery"] = round(
            1e6 * figures["cpuSeconds"] / result["deliveriesReceived"], 1)
    result["errors"] = _errors(result)
    return result


def _errors(result: Result) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for key in ("ackTimeouts", "unexpected", "reordered", "corrupted", "duplicateIds",
                "connectErrors", "disconnectsWhileHeld"):
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
    parser.add_argument("--workloads", default="a,b,c,d", help="comma-separated, from a,b,c,d")
    parser.add_argument("--database", help="postgresql://user@host:port/db; a fresh database is "
                        "created on that server for each workload and dropped afterwards")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn",
                        help="HTTP server for pipechat: `pipechat serve` (uvicorn) or granian")
    parser.add_argument("--redis", help="run the server with this PIPECHAT_REDIS_URL")
    parser.add_argument("--baseline", action="store_true",
                        help="also run python-socketio + uvicorn at defaults, no DB; show ratios")
    parser.add_argument("--baseline-only", action="store_true",
                        help="run only the baseline (checks the harness itself)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply message counts and (d)'s duration (0.1 for a quick look)")
    parser.add_argument("--connections", type=int, default=10000, help="(c) connections")
    parser.add_argument("--hold", type=float, default=30, help="(c) seconds to hold them")
    parser.add_argument("--rate", type=float, default=1000, help="(d) messages/s in total")
    parser.add_argument("--seconds", type=float, default=20, help="(d) seconds of load")
    parser.add_argument("--rooms", type=int, default=20, help="(b), (d) rooms")
    parser.add_argument("--members", type=int, default=10, help="(b), (d) members per room")
    parser.add_argument("--timeout", type=float, default=900, help="per workload, seconds")
    parser.add_argument("--json", type=Path, help="also write all results to this file")
    parser.add_argument("--profile", type=Path,
                        help="record py-spy stacks of the server into this directory")
    parser.add_argument("--keep", action="store_true", help="keep server data dirs and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads, print JSON lines, the table and the targets."""
    args = parse_args(argv)
    ensure_node_modules()
    targets = ["pipechat", "baseline"] if args.baseline else ["pipechat"]
    if args.baseline_only:
        targets = ["baseline"]
    results: list[Result] = []
    for name in args.workloads.split(","):
        workload = build(name.strip(), args.scale, args.connections, args.hold, args.rate,
                         args.seconds, args.rooms, args.members)
        pair: dict[str, Result] = {}
        for target in targets:
            pair[target] = run_one(target, workload, args)
            results.append(pair[target])
        if len(pair) == 2:
            pair["pipechat"]["ratioToBaseline"] = report.ratios(pair["pipechat"],
                                                                pair["baseline"])
        for result in pair.values():
            print(json.dumps(result), flush=True)
    print("\n" + report.table(results))
    checks = report.check_targets(results)
    print("\ntargets (issue 5):")
    for name, met, figures in checks:
        print(f"  [{'met' if met else 'NOT met'}] {name}: {figures}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "targets": [
            {"target": n, "met": m, "figures": f} for n, m, f in checks]}, indent=2))
    clean = all(met for name, met, _ in checks if "zero loss" in name)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
