"""Run the hostile-input table (tests/hostile) and print how each case ended: the share that get
one clear error (or heal with a warning), the silent results, the tracebacks and the hangs left.

    PYTHONPATH=. python bench/hostile_share.py [--verbose] [--only SUBSTRING]

Exit code 0 when every case ended as expected, 1 otherwise. Writes nothing.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile import all_cases  # noqa: E402
from tests.hostile.harness import OUTCOMES, outcome  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", "-v", action="store_true", help="print every case")
    ap.add_argument("--only", default="", help="run the cases whose id contains this")
    args = ap.parse_args(argv)
    table = [c for c in all_cases() if args.only in c.id]
    counts: collections.Counter[str] = collections.Counter()
    by_cat: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bad = []
    for case in table:
        with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
            kind, text = outcome(case, Path(tmp))
        counts[kind] += 1
        by_cat[case.category][kind] += 1
        want = "clear" if case.error is not None else "heal"
        if kind != want:
            bad.append((case.id, kind, text))
        if args.verbose or kind != want:
            line = text.strip().splitlines()[-1] if text.strip() else ""
            print(f"{'ok ' if kind == want else 'BAD'} {kind:9} {case.id}: {line[:160]}")
    n = len(table)
    good = counts["clear"] + counts["heal"]
    print(f"\n{n} hostile inputs and faults ({sum(c.issue for c in table)} named in issue 12)")
    for cat, c in sorted(by_cat.items()):
        print(f"  {cat:12} " + " ".join(f"{k}={c[k]}" for k in OUTCOMES if c[k]))
    print(f"one clear error: {counts['clear']}/{n - sum(c.error is None for c in table)}; "
          f"healed with a warning: {counts['heal']}/{sum(c.error is None for c in table)}; "
          f"as expected: {good}/{n} ({100 * good / max(n, 1):.1f} %)")
    print(f"silent results left: {counts['silent']}; tracebacks: {counts['traceback']}; "
          f"unclear: {counts['unclear']}; hangs left: {counts['hang']}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
