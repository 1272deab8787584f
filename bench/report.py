"""The readable side of the benchmark's output: a table, ratios to the baseline, the targets."""

from __future__ import annotations

from typing import Any

Result = dict[str, Any]

# Workload (e)'s two processes behind Redis; its one-process reference is "pipechat".
SCALE_OUT = "pipechat-x2"

COLUMNS = [
    ("wl", lambda r: r["workload"]),
    ("target", lambda r: r["target"]),
    ("sent", lambda r: r.get("sent")),
    ("saved", lambda r: r.get("saved")),
    ("deliv exp", lambda r: r.get("deliveriesExpected")),
    ("deliv recv", lambda r: r.get("deliveriesReceived")),
    ("lost", lambda r: r.get("lost")),
    ("dup", lambda r: r.get("duplicates")),
    ("reord", lambda r: r.get("reordered")),
    ("msg/s", lambda r: r.get("messagesPerSecond")),
    ("deliv/s", lambda r: r.get("deliveriesPerSecond")),
    ("recv p50", lambda r: _lat(r, "receive", "p50")),
    ("p90", lambda r: _lat(r, "receive", "p90")),
    ("p99", lambda r: _lat(r, "receive", "p99")),
    ("max", lambda r: _lat(r, "receive", "max")),
    ("ack p50", lambda r: _lat(r, "ack", "p50")),
    ("ack p99", lambda r: _lat(r, "ack", "p99")),
    ("conn/s", lambda r: r.get("connectRate")),
    ("ms/conn", lambda r: r["server"].get("cpuMillisPerConnect")),
    ("gen ms/conn", lambda r: r.get("loadgenCpuMillisPerConnect")),
    ("srv cpu%", lambda r: r["server"]["cpuPercent"]),
    ("us/deliv", lambda r: r["server"].get("cpuMicrosPerDelivery")),
    ("rss MiB", lambda r: r["server"]["rssPeakMiB"]),
    ("KiB/conn", lambda r: r.get("memoryPerConnectionKiB")),
]

# Bigger is better for these; for latencies smaller is better. Ratios are ours / baseline.
RATIO_KEYS = {"msg/s", "deliv/s", "recv p50", "p90", "p99", "max", "ack p50", "ack p99",
              "conn/s", "KiB/conn", "ms/conn",
              "us/deliv"}


def _lat(result: Result, kind: str, key: str) -> Any:
    return result.get("latencyMs", {}).get(kind, {}).get(key)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def table(results: list[Result]) -> str:
    """Results as an aligned text table, with a ratio row under each pipechat/baseline pair
    and under each two-processes/one-process pair of (e)."""
    rows = [[name for name, _ in COLUMNS]]
    by_workload: dict[str, dict[str, Result]] = {}
    for result in results:
        rows.append([_cell(get(result)) for _, get in COLUMNS])
        by_workload.setdefault(result["workload"], {})[result["target"]] = result
        pair = by_workload[result["workload"]]
        if "baseline" in pair and "pipechat" in pair and result["target"] == "baseline":
            rows.append(ratio_row(pair["pipechat"], pair["baseline"]))
        if SCALE_OUT in pair and "pipechat" in pair and result["target"] == SCALE_OUT:
            rows.append(ratio_row(pair[SCALE_OUT], pair["pipechat"], "x2/x1"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
                     for row in rows)


def ratio_row(ours: Result, base: Result, label: str = "ratio") -> list[str]:
    """ours / base (pipechat / baseline) for the throughput, latency and memory columns."""
    row = []
    for name, get in COLUMNS:
        if name == "wl":
            row.append(ours["workload"])
        elif name == "target":
            row.append(label)
        elif name in RATIO_KEYS and get(ours) and get(base):
            row.append(f"{get(ours) / get(base):.2f}x")
        else:
            row.append("")
    return row


def ratios(ours: Result, base: Result) -> dict[str, float | None]:
    """The same ratios, for the JSON output."""
    out: dict[str, float | None] = {}
    for name, get in COLUMNS:
        if name in RATIO_KEYS:
            a, b = get(ours), get(base)
            out[name] = round(a / b, 3) if a and b else None
    return out


def check_targets(results: list[Result]) -> list[tuple[str, bool, str]]:
    """Issue 5's targets for what was run: (target, met, figures); (e) has its own."""
    checks = []
    results = [r for r in results if not _scale_out(r)]
    ours = {r["workload"]: r for r in results if r["target"] == "pipechat"}
    base = {r["workload"]: r for r in results if r["target"] == "baseline"}
    for result in results:
        clean = (result.get("lost") == 0 and result.get("duplicates") == 0
                 and not result.get("errors"))
        if result.get("kind") == "idle":
            clean = (result.get("answeredAfterHold") == result.get("connections")
                     and not result.get("errors"))
        checks.append((f"({result['workload']}) {result['target']}: zero loss and duplicates",
                       bool(clean), _loss_text(result)))
    if "a" in ours:
        rate = ours["a"].get("deliveriesPerSecond") or 0
        checks.append(("(a) >= 25,000 deliveries/s", rate >= 25000, f"{rate} deliveries/s"))
        if "a" in base and base["a"].get("deliveriesPerSecond"):
            factor = rate / base["a"]["deliveriesPerSecond"]
            checks.append(("(a) >= 3x the defaults baseline", factor >= 3, f"{factor:.2f}x"))
    if "b" in ours:
        saved = ours["b"].get("messagesPerSecond") or 0
        checks.append(("(b) >= 2,500 saved messages/s", saved >= 2500, f"{saved} msg/s"))
    if "c" in ours:
        c = ours["c"]
        held = c.get("answeredAfterHold") == c.get("connections")
        checks.append((f"(c) {c.get('connections')} connections held", bool(held),
                       f"{c.get('answeredAfterHold')} answered after {c.get('holdSeconds')} s"))
        kib = c.get("memoryPerConnectionKiB") or 0
        checks.append(("(c) < 30 KiB per connection", 0 < kib < 30, f"{kib} KiB"))
    if "d" in ours:
        p50, p99 = _lat(ours["d"], "receive", "p50"), _lat(ours["d"], "receive", "p99")
        checks.append(("(d) send->receive p50 <= 10 ms", p50 is not None and p50 <= 10,
                       f"{p50} ms"))
        checks.append(("(d) send->receive p99 <= 50 ms", p99 is not None and p99 <= 50,
                       f"{p99} ms"))
    return checks


def check_connect_storm(results: list[Result]) -> list[tuple[str, bool, str]]:
    """Issue 12's targets for (c) on one process: connects/s and memory per connection."""
    checks = []
    for c in (r for r in results if r["workload"] == "c" and r["target"] == "pipechat"):
        rate = c.get("connectRate") or 0
        cpu = c["server"].get("cpuMillisPerConnect")
        checks.append(("(c) >= 1,000 connects/s on one process", rate >= 1000,
                       f"{rate} connects/s, server {cpu} CPU-ms per connect, load generator "
                       f"{c.get('loadgenCpuMillisPerConnect')} CPU-ms per connect"))
        kib = c.get("memoryPerConnectionKiB") or 0
        checks.append(("(c) <= 24 KiB per idle connection", 0 < kib <= 24, f"{kib} KiB"))
    return checks


def _scale_out(result: Result) -> bool:
    return str(result["workload"]).startswith("e.")


def check_scale_out(results: list[Result]) -> list[tuple[str, bool, str]]:
    """Issue 12's targets for (e): two processes behind Redis against one, in the same run."""
    checks = []
    one = {r["workload"]: r for r in results if _scale_out(r) and r["target"] == "pipechat"}
    two = {r["workload"]: r for r in results if _scale_out(r) and r["target"] == SCALE_OUT}
    for result in (r for r in results if _scale_out(r)):
        clean = (result.get("lost") == 0 and result.get("duplicates") == 0
                 and not result.get("errors"))
        checks.append((f"({result['workload']}) {result['target']}: zero loss and duplicates",
                       bool(clean), f"{_loss_text(result)}, out of order "
                                    f"{result.get('reordered')}"))
    if "e.b" in one and "e.b" in two:
        rate1, rate2 = one["e.b"].get("messagesPerSecond"), two["e.b"].get("messagesPerSecond")
        checks.append(("(e.b) two processes: saved msg/s >= one process's",
                       bool(rate1 and rate2 and rate2 >= rate1), f"{rate2} vs {rate1} msg/s"))
        p50_1 = _lat(one["e.b"], "receive", "p50")
        p50_2 = _lat(two["e.b"], "receive", "p50")
        checks.append(("(e.b) two processes: send->receive p50 <= 2x one process's",
                       bool(p50_1 and p50_2 is not None and p50_2 <= 2 * p50_1),
                       f"{p50_2} vs {p50_1} ms"))
    if "e.d" in two:
        p99 = _lat(two["e.d"], "receive", "p99")
        checks.append(("(e.d) two processes: send->receive p99 <= 50 ms",
                       p99 is not None and p99 <= 50, f"{p99} ms"))
    for name in sorted(set(one) & set(two)):
        cpu1 = one[name]["server"].get("cpuMicrosPerDelivery")
        cpu2 = two[name]["server"].get("cpuMicrosPerDelivery")
        checks.append((f"({name}) two processes: server CPU per delivery <= 1.3x one process's",
                       bool(cpu1 and cpu2 and cpu2 <= 1.3 * cpu1),
                       f"{cpu2} vs {cpu1} us"
                       + (f" ({cpu2 / cpu1:.2f}x)" if cpu1 and cpu2 else "")))
    return checks


def _loss_text(result: Result) -> str:
    if result.get("kind") == "idle":
        return (f"{result.get('connected')}/{result.get('connections')} connected, "
                f"{result.get('answeredAfterHold')} answered")
    return (f"lost {result.get('lost')}, duplicates {result.get('duplicates')}, "
            f"errors {result.get('errors')}")
