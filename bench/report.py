"""The readable side of the benchmark's output: a table, ratios to the baseline, the targets."""

from __future__ import annotations

from typing import Any

Result = dict[str, Any]

COLUMNS = [
    ("wl", lambda r: r["workload"]),
    ("target", lambda r: r["target"]),
    ("sent", lambda r: r.get("sent")),
    ("saved", lambda r: r.get("saved")),
    ("deliv exp", lambda r: r.get("deliveriesExpected")),
    ("deliv recv", lambda r: r.get("deliveriesReceived")),
    ("lost", lambda r: r.get("lost")),
    ("dup", lambda r: r.get("duplicates")),
    ("msg/s", lambda r: r.get("messagesPerSecond")),
    ("deliv/s", lambda r: r.get("deliveriesPerSecond")),
    ("recv p50", lambda r: _lat(r, "receive", "p50")),
    ("p90", lambda r: _lat(r, "receive", "p90")),
    ("p99", lambda r: _lat(r, "receive", "p99")),
    ("max", lambda r: _lat(r, "receive", "max")),
    ("ack p50", lambda r: _lat(r, "ack", "p50")),
    ("ack p99", lambda r: _lat(r, "ack", "p99")),
    ("conn/s", lambda r: r.get("connectRate")),
    ("srv cpu%", lambda r: r["server"]["cpuPercent"]),
    ("us/deliv", lambda r: r["server"].get("cpuMicrosPerDelivery")),
    ("rss MiB", lambda r: r["server"]["rssPeakMiB"]),
    ("KiB/conn", lambda r: r.get("memoryPerConnectionKiB")),
]

# Bigger is better for these; for latencies smaller is better. Ratios are ours / baseline.
RATIO_KEYS = {"msg/s", "deliv/s", "recv p50", "p90", "p99", "max", "ack p50", "ack p99",
              "conn/s", "KiB/conn",
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
    """Results as an aligned text table, with a ratio row under each pipechat/baseline pair."""
    rows = [[name for name, _ in COLUMNS]]
    by_workload: dict[str, dict[str, Result]] = {}
    for result in results:
        rows.append([_cell(get(result)) for _, get in COLUMNS])
        by_workload.setdefault(result["workload"], {})[result["target"]] = result
        pair = by_workload[result["workload"]]
        if "baseline" in pair and "pipechat" in pair and result["target"] == "baseline":
            rows.append(ratio_row(pair["pipechat"], pair["baseline"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
                     for row in rows)


def ratio_row(ours: Result, base: Result) -> list[str]:
    """pipechat / baseline for the throughput, latency and memory columns."""
    row = []
    for name, get in COLUMNS:
        if name == "wl":
            row.append(ours["workload"])
        elif name == "target":
            row.append("ratio")
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
    """Issue 5's targets for what was run: (target, met, figures)."""
    checks = []
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


def _loss_text(result: Result) -> str:
    if result.get("kind") == "idle":
        return (f"{result.get('connected')}/{result.get('connections')} connected, "
                f"{result.get('answeredAfterHold')} answered")
    return (f"lost {result.get('lost')}, duplicates {result.get('duplicates')}, "
            f"errors {result.get('errors')}")
