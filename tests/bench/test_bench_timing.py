"""bench/bench_timing: the spike-count comparison and the rate table against hand counts."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_timing import RateTable, compare, proc_status, timed  # noqa: E402


def test_compare_counts_the_differing_neurons():
    a = [torch.tensor([[1, 2], [3, 4]]), torch.tensor([[0], [5]])]
    assert compare(a, [t.clone() for t in a]) == "all equal"
    b = [torch.tensor([[1, 2], [3, 7]]), torch.tensor([[0], [4]])]  # 2 of 6 differ, max |3|
    assert compare(a, b) == "2/6 neuron counts differ (max |Δ| 3)"
    # another layout of the same samples (B first) compares the same
    assert compare([a[0].reshape(2, 1, 2)], [b[0]]) == "1/4 neuron counts differ (max |Δ| 3)"


def test_rate_table_ratios(capsys):
    t = RateTable(sample_steps=1000)
    assert t.add("dense floor", 2.0) == 500.0
    t.add("ours", 0.5)
    t.add("peer", 1.0, per_call=2)  # 2,000 sample-steps in 1 s
    t.print("ours")
    out = capsys.readouterr().out
    assert "| dense floor | 500 | 1.00 | 4.00 |" in out
    assert "| ours | 2,000 | 4.00 | 1.00 |" in out
    assert "| peer | 2,000 | 4.00 | 1.00 |" in out
    assert t.summary("ours", {"peer": 2000.0, "slow": 100.0}).startswith(
        "ours is 1.00× the fastest peer (peer) and 4.00× the dense-FLOP floor")


def test_timed_returns_the_last_result_and_a_median():
    calls = []
    secs, out = timed(lambda: calls.append(1) or len(calls), reps=3)
    assert out == 3 and secs >= 0.0
    assert proc_status("VmRSS") > 0 and proc_status("NoSuchField") == 0
