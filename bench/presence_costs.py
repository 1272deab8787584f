"""What presence costs Redis with many users online: workload (c) against a private Redis.

    .venv/bin/python bench/presence_costs.py --connections 10000 --users 10000 --hold 30

Starts a redis-server of its own (so nothing else's traffic is counted), runs
`bench/run.py --workloads c` with `--redis` pointing at it, samples Redis every half second,
and prints one JSON object: the calls per command over the whole run (connects, hold,
disconnects, settling), the commands and bytes per second while the connections are held,
and the presence keys and Redis memory at the peak. The server's own memory per connection
is in bench/run.py's result (`memoryPerConnectionKiB`), printed too.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The sampler's own commands, left out of the per-second figures.
OWN = {"info", "scan", "memory|usage"}


def presence_bytes(client: redis.Redis) -> tuple[int, int]:
    """(keys, bytes by MEMORY USAGE) of every presence key."""
    keys = list(client.scan_iter(match="*:presence:*", count=10_000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key)
    return len(keys), sum(size or 0 for size in pipe.execute())


def sampler(client: redis.Redis, samples: list[dict[str, Any]], stop: threading.Event,
            window: dict[str, float]) -> None:
    """Append (time, calls per command, memory) every half second until `stop`; once in the
    middle of the hold, the presence keys and their memory."""
    while not stop.is_set():
        calls = {name.removeprefix("cmdstat_"): value["calls"]
                 for name, value in client.info("commandstats").items()}
        sample = {"t": time.monotonic(), "calls": calls,
                  "memory": client.info("memory")["used_memory"]}
        middle = window.get("from", 0) + window.get("hold", 0) / 2
        if "from" in window and "keys" not in window and sample["t"] >= middle:
            window["keys"], window["bytes"] = presence_bytes(client)
        samples.append(sample)
        stop.wait(0.5)


def main() -> int:
    """Run it and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--hold", type=float, default=30)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    samples: list[dict[str, Any]] = []
    stop = threading.Event()
    window: dict[str, float] = {"hold": args.hold}
    thread = threading.Thread(target=sampler, args=(client, samples, stop, window),
                              daemon=True)
    base_memory = client.info("memory")["used_memory"]
    try:
        thread.start()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "c.json"
            command = [sys.executable, str(ROOT / "bench" / "run.py"), "--workloads", "c",
                       "--connections", str(args.connections), "--idle-users", str(args.users),
                       "--hold", str(args.hold), "--redis", f"redis://127.0.0.1:{port}/0",
                       "--json", str(out)]
            run = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                                   stdout=subprocess.DEVNULL)
            assert run.stderr is not None
            for line in run.stderr:
                sys.stderr.write(line)
                if "holding" in line:
                    window["from"] = time.monotonic()
            run.wait()
            result = json.loads(out.read_text())["results"][0]
        time.sleep(1.0)
        stop.set()
        thread.join()
        commandstats = {name.removeprefix("cmdstat_"): value["calls"]
                        for name, value in client.info("commandstats").items()}
    finally:
        client.close()
        server.terminate()
        server.wait()
    start = window.get("from", 0)
    held = [s for s in samples if start + 2 <= s["t"] <= start + args.hold - 2]
    per_second: dict[str, float] = {}
    if len(held) >= 2:
        span = held[-1]["t"] - held[0]["t"]
        first, last = held[0]["calls"], held[-1]["calls"]
        per_second = {name: round((calls - first.get(name, 0)) / span, 2)
                      for name, calls in last.items()
                      if name not in OWN and calls != first.get(name, 0)}
    peak_memory = max(s["memory"] for s in samples)
    print(json.dumps({
        "connections": args.connections, "users": args.users, "holdSeconds": args.hold,
        "commandCalls": {k: v for k, v in commandstats.items() if k not in OWN},
        "whileHeldCallsPerSecond": per_second,
        "presenceKeysHeld": window.get("keys"), "presenceBytesHeld": window.get("bytes"),
        "redisMemoryGrowthMiBAtPeak": round((peak_memory - base_memory) / 2**20, 2),
        "serverMemoryPerConnectionKiB": result.get("memoryPerConnectionKiB"),
        "serverRssHeldMiB": result.get("server", {}).get("rssHeldMiB"),
        "connected": result.get("connected"), "errors": result.get("errors"),
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
