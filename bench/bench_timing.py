"""The timing table of the cosim benches (bench/bench_cosim.py, bench/cosim_cifar.py): medians of
repeated calls, spike-count comparison, the rows in sample-steps/s against the dense floor and
cosim, and the resident-memory fields of /proc/self/status (bench/cosim_memory.py,
bench/cosim_cifar.py). A module of bench/, named so it shadows no package.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch


def timed(fn: Callable[[], object], reps: int) -> tuple[float, object]:
    """The median wall time of ``reps`` calls of ``fn`` and the last call's result."""
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def compare(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> str:
    """"all equal", or how many per-neuron spike counts differ (each tensor: B samples first)."""
    diffs, n, maxd = 0, 0, 0
    for a, b in zip(ours, theirs, strict=True):
        d = (a.reshape(a.shape[0], -1).long() - b.reshape(b.shape[0], -1).long()).abs()
        diffs, n, maxd = diffs + int((d > 0).sum()), n + d.numel(), max(maxd, int(d.max()))
    return "all equal" if diffs == 0 else f"{diffs:,}/{n:,} neuron counts differ (max |Δ| {maxd})"


class RateTable:
    """Rows of (method, sample-steps/s): the first row is the dense floor, ``ours`` names the
    row the last column divides (cosim's). ``add`` prints a progress line as it goes."""

    def __init__(self, sample_steps: int, width: int = 36) -> None:
        self.sample_steps, self.width = sample_steps, width
        self.rows: list[tuple[str, float]] = []

    def add(self, name: str, secs: float, note: str = "", per_call: int = 1) -> float:
        """A row for ``per_call`` x ``sample_steps`` sample-steps in ``secs``; its rate."""
        rate = per_call * self.sample_steps / secs
        self.rows.append((name, rate))
        print(f"  {name:{self.width}s} {rate:9,.0f} sample-steps/s  {note}", flush=True)
        return rate

    def rate(self, name: str) -> float:
        return next(r for n, r in self.rows if n == name)

    def print(self, ours: str) -> None:
        """The markdown table: rate, x the first row (the dense floor), ``ours`` x this row."""
        base, mine = self.rows[0][1], self.rate(ours)
        print(f"\n| method | sample-steps/s | × dense floor | {ours} × this |")
        print("|---|---:|---:|---:|")
        for name, rate in self.rows:
            print(f"| {name} | {rate:,.0f} | {rate / base:.2f} | {mine / rate:.2f} |")

    def summary(self, ours: str, peers: dict[str, float]) -> str:
        """One line: ``ours`` x the fastest of ``peers`` (name: rate) and x the dense floor."""
        best = max(peers, key=peers.get)
        mine = self.rate(ours)
        return (f"{ours} is {mine / peers[best]:.2f}× the fastest peer ({best}) and "
                f"{mine / self.rows[0][1]:.2f}× the dense-FLOP floor.")


def proc_status(field: str) -> int:
    """A memory field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes (0 if absent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


__all__ = ["RateTable", "compare", "proc_status", "timed"]
