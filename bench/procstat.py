"""CPU time and resident memory of a process, read from /proc (Linux)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    """CPU seconds used so far and resident bytes, at monotonic time `at`."""

    at: float
    cpu_seconds: float
    rss_bytes: int


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (granian serves from a child process)."""
    pids = [pid]
    for current in pids:
        for task in os.listdir(f"/proc/{current}/task"):
            try:
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pids.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return pids


def sample(*pids: int) -> Sample:
    """Read one sample of these processes and their descendants, summed."""
    cpu = 0.0
    rss = 0
    for member in (member for pid in pids for member in _tree(pid)):
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{member}/statm") as statm:
                pages = int(statm.read().split()[1])
        except OSError:
            continue  # exited between listing and reading
        # Fields after the command name: utime and stime are the 12th and 13th.
        cpu += (int(fields[11]) + int(fields[12])) / _TICKS
        rss += pages * _PAGE
    return Sample(time.monotonic(), cpu, rss)


class PeakRss:
    """Samples the processes' summed RSS in a thread so a window's peak is known."""

    def __init__(self, *pids: int, interval: float = 0.2) -> None:
        self._pids = pids
        self._interval = interval
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def reset(self) -> None:
        """Start a new window."""
        self._peak = 0

    @property
    def peak(self) -> int:
        """Largest RSS seen in this window, in bytes."""
        return self._peak

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._peak = max(self._peak, sample(*self._pids).rss_bytes)
            except OSError:
                return
            self._stop.wait(self._interval)


def window(start: Sample, end: Sample) -> dict[str, float]:
    """CPU use between two samples, in percent of one core, and RSS at the end in MiB."""
    wall = max(end.at - start.at, 1e-9)
    return {
        "cpuPercent": round(100 * (end.cpu_seconds - start.cpu_seconds) / wall, 1),
        "cpuSeconds": round(end.cpu_seconds - start.cpu_seconds, 3),
        "rssStartMiB": round(start.rss_bytes / 2**20, 1),
        "rssEndMiB": round(end.rss_bytes / 2**20, 1),
    }
