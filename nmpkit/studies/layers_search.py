"""The per-layer floor search (see ``nmpkit.studies.layers`` for the rule and the method)."""

from __future__ import annotations

from typing import Any

from nmpkit.errors import ConfigError
from nmpkit.studies import stats
from nmpkit.studies.layers import Alloc, check_tolerance
from nmpkit.studies.layers_eval import Evaluation, Evaluator

SEARCH_METHOD = ("coordinate descent over the calibrated V_NEG table, started from the best "
                 "global floor (the least-energy uniform allocation that is non-inferior to NMP); "
                 "per pass each group tries every other level with the others fixed and moves "
                 "to the least-energy feasible one; stops after a pass with no move")
DECISION_RULE = ("feasible when the upper end of the 95% Newcombe interval of the paired "
                 "accuracy drop against NMP (same images) is at most the tolerance "
                 "(stats.non_inferior); McNemar's exact p is reported beside it")


def _feasible(nmp: Evaluation, ev: Evaluation, tolerance: float) -> tuple[bool, Any]:
    cmp = stats.compare(nmp.correct, ev.correct)
    return stats.non_inferior(cmp, tolerance), cmp


def search_floors(ev: Evaluator, *, tolerance: float = 0.005, max_passes: int = 4,
                  progress: Any = None) -> dict[str, Any]:
    """Run the search; returns the raw pieces ``layers_output.summarize`` turns into JSON.

    Returns:
        {"nmp", "uniform": [(alloc, Evaluation, feasible, cmp)], "global": alloc | None,
         "chosen": alloc | None, "zmp_checks": {group: (alloc, feasible, cmp)},
         "trace": [(alloc, feasible, cmp)] in evaluation order, "passes": int}
    """
    tolerance = check_tolerance(tolerance)
    if isinstance(max_passes, bool) or not isinstance(max_passes, int) or max_passes < 1:
        raise ConfigError(f"max_passes must be an int >= 1, got {max_passes!r}")
    say = progress or (lambda _msg: None)
    trace: list[tuple[Alloc, bool, Any]] = []
    seen: set[Alloc] = set()

    def test(alloc: Alloc) -> tuple[Evaluation, bool, Any]:
        e = ev(alloc)
        ok, cmp = _feasible(nmp, e, tolerance)
        if alloc not in seen:
            seen.add(alloc)
            trace.append((alloc, ok, cmp))
            say(f"floors {_label(ev, alloc)}: accuracy {e.accuracy.estimate:.4f}, drop "
                f"{100 * cmp.difference:+.2f} %p (CI high {100 * cmp.ci_high:.2f}), "
                f"{e.energy_joules:.4g} J {'ok' if ok else 'no'}")
        return e, ok, cmp

    nmp = ev(None)
    say(f"NMP: accuracy {nmp.accuracy.estimate:.4f}")
    n_groups, n_levels = len(ev.groups.names), len(ev.levels)
    uniform = []
    for k in range(n_levels):
        alloc = (k,) * n_groups
        e, ok, cmp = test(alloc)
        uniform.append((alloc, e, ok, cmp))
    feasible = [(a, e) for a, e, ok, _ in uniform if ok]
    glob = min(feasible, key=lambda p: p[1].energy_joules)[0] if feasible else None
    chosen, passes = glob, 0
    if chosen is not None:
        cur = chosen
        for passes in range(1, max_passes + 1):
            moved = False
            for g in range(n_groups):
                best, best_e = cur, ev(cur).energy_joules
                for k in range(n_levels):
                    if k == cur[g]:
                        continue
                    cand = cur[:g] + (k,) + cur[g + 1:]
                    e, ok, _ = test(cand)
                    if ok and e.energy_joules < best_e:
                        best, best_e = cand, e.energy_joules
                if best != cur:
                    cur, moved = best, True
            if not moved:
                break
        chosen = cur
    zmp_checks = {}
    if chosen is not None:
        top = n_levels - 1
        for g, name in enumerate(ev.groups.names):
            cand = chosen[:g] + (top,) + chosen[g + 1:]
            _, ok, cmp = test(cand)
            zmp_checks[name] = (cand, ok, cmp)
    return {"nmp": nmp, "uniform": uniform, "global": glob, "chosen": chosen,
            "zmp_checks": zmp_checks, "trace": trace, "passes": passes,
            "tolerance": tolerance}


def _label(ev: Evaluator, alloc: Alloc) -> str:
    if alloc is None:
        return "NMP"
    return "(" + ", ".join(f"{ev.levels[k].floor_theta:.2f}" for k in alloc) + ") θ"


__all__ = ["DECISION_RULE", "SEARCH_METHOD", "search_floors"]
