"""How the shipped weights were trained: one table from the sidecars in nmpkit/weights/.

python results/training_table.py        # writes results/training.md
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE.parent / "nmpkit" / "weights"


def _progress(m: dict) -> str:
    done, per = m.get("batches_done"), m.get("batches_per_epoch")
    if done is not None and per and done % per:
        return f"{done / per:.2f} of {m['epochs_planned']} ({done} batches; stopped early)"
    return f"{m['epochs_done']} of {m['epochs_planned']}"


def main() -> int:
    rows = [
        "# Shipped weights and how they were trained",
        "",
        "Made by `python results/training_table.py` from the `.json` sidecars that "
        "`nmpkit train` wrote beside each state_dict.",
        "",
        "| file | network | dataset | epochs | train samples | recipe | seed | test metric "
        "(ANN, eval samples) | train time | dtype |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for side in sorted(WEIGHTS.glob("*.json")):
        m = json.loads(side.read_text())
        r = m["recipe"]
        last = m["history"][-1] if m["history"] else {}
        metric = (
            f"accuracy {100 * last['test_accuracy']:.2f}%"
            if "test_accuracy" in last
            else f"MSE {last.get('test_mse', float('nan')):.5f}"
        )
        recipe = (
            f"{r['optimizer']} lr {r['lr']:g} ({r['schedule']}), L2 {r['weight_decay']:g}, "
            f"batch {r['batch_size']}, aug {r['augment']}"
        )
        rows.append(
            f"| `{side.with_suffix('.pt').name}` | {m['network']} | {m['dataset']} | "
            f"{_progress(m)} | {m['train_samples']} | {recipe} | "
            f"{m['seed']} | {metric} ({m['eval_samples']}) | {m['train_seconds']:.0f} s | "
            f"{m.get('dtype', 'float32')} |"
        )
        cmd = m.get("command_line")
        if cmd:
            rows.append(f"|  | command: `{cmd}` |||||||||")
    rows.append("")
    (HERE / "training.md").write_text("\n".join(rows))
    print(f"wrote {HERE / 'training.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
