"""The shipped allconv28 weights: they load, their record says how they were trained, and the
converter's BatchNorm folding reproduces the trained ANN's logits (the ANN is the reference)."""

import json
from importlib import resources
from pathlib import Path

import pytest
import torch

from nmpkit.ml.data import load_dataset, to_tensor
from nmpkit.ml.train import evaluate_ann, load_weights
from nmpkit.studies.stats import proportion

WEIGHTS = Path(str(resources.files("nmpkit").joinpath("weights/allconv28_fashion.pt")))
FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_record_says_how_it_was_trained():
    rec = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert rec["network"] == "allconv28" and rec["dataset"] == "fashion-mnist"
    assert rec["epochs_done"] == rec["epochs_planned"] == 4 and rec["seed"] == 0
    assert "nmpkit train allconv28" in rec["command_line"] and "--epochs 4" in rec["command_line"]
    acc = rec["test_accuracy"]
    assert acc["samples"] == 10_000 == rec["eval_samples"]
    assert acc["accuracy"] == rec["history"][-1]["test_accuracy"]
    ref = proportion(acc["correct"], acc["samples"])  # the interval recomputed from the count
    assert acc["ci95"] == pytest.approx([ref.ci_low, ref.ci_high])


def test_batchnorm_folding_reproduces_the_trained_logits():
    import cosim

    model = load_weights("allconv28", WEIGHTS)
    torch.manual_seed(1)
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    calib = torch.rand(64, 1, 28, 28)
    for net in (cosim.convert(model), cosim.convert(model, calib, percentile=99.99)):
        folded = net.ann_forward(x)[-1] * net.layers[-1].scale
        assert torch.allclose(folded, logits, atol=1e-4 * float(logits.abs().max()))
        assert len(net.layers) == 7  # 6 hidden spiking layers + the spiking output (conv + GAP)


@pytest.mark.skipif(not FASHION.is_dir(), reason="needs Debian's dataset-fashion-mnist")
def test_ann_accuracy_matches_the_record_on_the_first_2000_test_images():
    data = load_dataset("fashion-mnist", FASHION)
    model = load_weights("allconv28", WEIGHTS)
    x = to_tensor(data.x_test[:2000], (0.0,), (1.0,))
    acc = evaluate_ann(model, x, torch.from_numpy(data.y_test[:2000]).long())
    full = json.loads(WEIGHTS.with_suffix(".json").read_text())["test_accuracy"]["accuracy"]
    # 2,000 of the 10,000 images: within 3 binomial standard errors of the whole-set figure
    assert abs(acc - full) < 3 * (full * (1 - full) / 2000) ** 0.5
