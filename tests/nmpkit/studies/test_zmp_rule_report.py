"""The ZMP rule's line in a run's report: built from the run's own net and its own measurement."""

from __future__ import annotations

import re
import shutil

import numpy as np
import torch

from nmpkit.app.networks import paired_rows
from nmpkit.ml.data import load_dataset, to_tensor
from nmpkit.ml.train import load_weights
from nmpkit.ml.zoo import get_network
from nmpkit.report.html import write_report
from nmpkit.report.zmp_rule import zmp_rule_html
from nmpkit.studies.evaluate import EvalConfig, EvaluateConfig, convert_normalized, run
from nmpkit.studies.zmp_rule import predict_zmp_loss
from nmpkit.studies.zmp_rule_report import measured_loss, rule_line
from tests.nmpkit.studies.test_evaluate_study import _mnist


def _tiny_run(tmp_path):
    """A run folder with one evaluated classifier: NMP and ZMP on 7 images, T = 6."""
    w, data = _mnist(tmp_path)
    run_dir = tmp_path / "run"
    ev = run_dir / "evaluate"
    ev.mkdir(parents=True)
    shutil.copy2(w, run_dir / "w.pt")
    correct = {}
    for label, lb in (("nmp", None), ("zmp", 0.0)):
        sim = EvalConfig(timesteps=6, lower_bound=lb, calibration_samples=20,
                         correlation_samples=0)
        res = run(EvaluateConfig(network="mnist", weights=str(run_dir / "w.pt"), sim=sim,
                                 data_root=str(data)))
        res.save(ev, label)
        correct[label] = ev / f"{label}_correct.npz"
    import pandas as pd

    pd.DataFrame(paired_rows(correct, [3], 6)).to_csv(ev / "comparisons.csv", index=False)
    return run_dir, data


def test_the_report_has_the_rule_line_with_the_runs_prediction_and_measurement(tmp_path):
    run_dir, data = _tiny_run(tmp_path)
    page = write_report(run_dir).read_text()
    m = re.search(r"mnist \(the rule on all 7 evaluated test images\): this network&#x27;s "
                  r"predicted ZMP loss at T = 300: (-?[\d.]+) %p.*?measured at T = 6: "
                  r"([+-][\d.]+) %p \(95% CI ([+-][\d.]+) to ([+-][\d.]+) %p.*?\(the rule is "
                  r"fitted at T = 300, which this run did not simulate; T = 6 is its "
                  r"measurement nearest to it\); the prediction is (inside|below|above) the "
                  r"measured interval", page)
    assert m, "the rule's line is missing from the report"
    # the prediction: the rule on the same net, converted here independently of the report
    spec, ds = get_network("mnist"), load_dataset("mnist", data)
    mean, std = spec.norm_for("mnist")
    net = convert_normalized(load_weights(spec, run_dir / "w.pt"),
                             to_tensor(ds.x_train[:20], mean, std),
                             EvalConfig(timesteps=6, lower_bound=None, calibration_samples=20))
    pred = predict_zmp_loss(net, to_tensor(ds.x_test, mean, std), torch.from_numpy(ds.y_test))
    assert float(m.group(1)) == round(100 * pred.predicted_loss, 1)
    # the measurement: a hand count of the saved per-sample correctness at the last step
    nmp = np.load(run_dir / "evaluate" / "nmp_correct.npz")
    zmp = np.load(run_dir / "evaluate" / "zmp_correct.npz")
    key = nmp.files[0]
    hand = nmp[key][-1].astype(float).mean() - zmp[key][-1].astype(float).mean()
    assert float(m.group(2)) == round(100 * hand, 2)
    lo, hi, p = float(m.group(3)), float(m.group(4)), 100 * pred.predicted_loss
    assert m.group(5) == ("inside" if lo <= p <= hi else "below" if p < lo else "above")
    assert measured_loss(run_dir / "evaluate", 300)["timesteps"] == 6  # falls back to the last T


def test_the_measurement_is_the_runs_latency_nearest_the_rules(tmp_path):
    import pandas as pd

    def rows(ts):
        return [{"condition": c, "timesteps": t, "nmp_minus": t / 1e4} for t in ts
                for c in ("floor-0.5", "zmp")]

    for ts, rule_t, want in (([100, 200], 300, 200), ([100, 1000], 300, 100),
                             ([100, 500], 300, 500), ([300, 1000], 300, 300), ([6], 300, 6)):
        pd.DataFrame(rows(ts)).to_csv(tmp_path / "comparisons.csv", index=False)
        m = measured_loss(tmp_path, rule_t)
        assert (m["timesteps"], m["condition"], m["nmp_minus"]) == (want, "zmp", want / 1e4)


def test_the_line_says_how_many_images_the_rule_saw_of_those_evaluated(tmp_path):
    run_dir, _ = _tiny_run(tmp_path)
    line = rule_line(run_dir, "mnist", run_dir / "evaluate", samples=4)
    assert line.startswith("mnist (the rule on the first 4 of its 7 evaluated test images): ")
    assert "n = 7," in line  # the measurement is on every evaluated image


def test_weights_that_changed_or_moved_are_not_used(tmp_path):
    run_dir, _ = _tiny_run(tmp_path)
    (run_dir / "w.pt").write_bytes(b"not the evaluated weights")
    line = rule_line(run_dir, "mnist", run_dir / "evaluate")
    assert line is not None and "not checked" in line and "predicted" not in line


def test_no_evaluation_no_block(tmp_path):
    assert zmp_rule_html(tmp_path) == ""
