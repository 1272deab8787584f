"""The load benchmark, run with tiny numbers against real servers: nothing lost or doubled."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_runs_without_loss_or_duplicates(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the socket.io-client load generator")
    out = tmp_path / "bench.json"
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--workloads", "a,c,d",
               "--scale", "0.05", "--connections", "40", "--hold", "0.5", "--rate", "100",
               "--seconds", "10", "--rooms", "4", "--members", "5", "--baseline",
               "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = {(r["workload"], r["target"]): r for r in json.loads(out.read_text())["results"]}
    assert set(results) == {(w, t) for w in "acd" for t in ("pipechat", "baseline")}
    for (workload, target), result in results.items():
        assert result["errors"] == {}, (workload, target, result["errors"])
        if workload == "c":
            assert result["connected"] == result["answeredAfterHold"] == 40
            assert result["memoryPerConnectionKiB"] is not None
            continue
        assert result["sent"] == result["acked"] > 0
        assert result["deliveriesReceived"] == result["deliveriesExpected"] > 0
        assert result["lost"] == result["duplicates"] == 0
        if target == "pipechat":
            assert result["saved"] == result["sent"]  # counted in the database itself
    a = results[("a", "pipechat")]
    assert a["deliveriesExpected"] == 100 * 49  # 1 sender, 49 other members
    assert a["ratioToBaseline"]["deliv/s"] is not None
    assert "targets (issue 5):" in done.stdout
