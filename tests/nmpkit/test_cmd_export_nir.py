"""`nmpkit export-nir` and `nmpkit evaluate --nir`, through main([...])."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

nir = pytest.importorskip("nir")

from nmpkit.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from nmpkit.train import save_weights
    from nmpkit.zoo import get_network

    d = tmp_path_factory.mktemp("nirc")
    torch.manual_seed(0)
    model = get_network("mnist").build()
    with torch.no_grad():  # smaller FC weights keep the random net's rates moderate
        model[5].weight.mul_(0.2)
    save_weights(model, d / "w.pt", {"note": "random init, for tests"})
    rng = np.random.default_rng(0)
    np.savez(d / "mnist.npz", x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 30),
             x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 5))
    return d, d / "w.pt", d / "mnist.npz"


def test_export_then_evaluate_equals_the_direct_evaluation(files, capsys):
    d, w, data = files
    out = d / "mnist_zmp.nir"
    common = ["--weights", str(w), "--data-root", str(data), "--calibration-samples", "30"]
    assert main(["--quiet", "export-nir", "mnist", *common, "--lower-bound", "zmp",
                 "--out", str(out)]) == 0
    graph = nir.read(out)
    meta = graph.metadata["nmpkit"]
    assert meta["source"]["network"] == "mnist" and meta["schema_version"] == 1
    assert {m["lower_bound"] for m in meta["layers"].values()} == {0.0}
    rc = main(["--quiet", "evaluate", "--nir", str(out), "--data-root", str(data),
               "--timesteps", "12", "--out", str(d / "via_nir.csv")])
    assert rc == 0
    rc = main(["--quiet", "evaluate", "mnist", "--lower-bound", "zmp", "--timesteps", "12",
               *common, "--correlation-samples", "0", "--out", str(d / "direct.csv")])
    assert rc == 0
    via, direct = pd.read_csv(d / "via_nir.csv"), pd.read_csv(d / "direct.csv")
    np.testing.assert_array_equal(via.accuracy.to_numpy(), direct.accuracy.to_numpy())
    side = json.loads((d / "via_nir.json").read_text())
    assert side["samples"] == 5 and side["floor"] == "0" and side["reset"] == "subtract"
    lo, hi = side["final_accuracy_95ci"]
    assert lo <= side["final_accuracy"] <= hi
    assert side["nir_source"]["weights_sha256"] and side["provenance"]["git_revision"] is not None
    # --lower-bound replaces the file's floor: nmp here equals the direct NMP run
    assert main(["--quiet", "evaluate", "--nir", str(out), "--data-root", str(data),
                 "--timesteps", "12", "--lower-bound", "nmp", "--out", str(d / "n1.csv")]) == 0
    assert main(["--quiet", "evaluate", "mnist", "--lower-bound", "nmp", "--timesteps", "12",
                 *common, "--correlation-samples", "0", "--out", str(d / "n2.csv")]) == 0
    np.testing.assert_array_equal(pd.read_csv(d / "n1.csv").accuracy,
                                  pd.read_csv(d / "n2.csv").accuracy)


def test_export_calibrated_neurons_with_provenance(files, tmp_path):
    from calib import fit
    from cosim.nir import nir_metadata
    from tests.calib import synth_tables as syn

    d, w, data = files
    cal_path = fit(syn.write_tables(tmp_path / "t")).save(tmp_path / "cal.json")
    out = tmp_path / "cal.nir"
    rc = main(["--quiet", "export-nir", "mnist", "--weights", str(w), "--data-root", str(data),
               "--calibration-samples", "30", "--calibration", str(cal_path), "--v-neg", "-0.5",
               "--mismatch-seed", "3", "--out", str(out)])
    assert rc == 0
    graph = nir.read(out)
    meta = nir_metadata(graph)
    import hashlib

    assert meta["calibration"]["sha256"] == hashlib.sha256(cal_path.read_bytes()).hexdigest()
    assert meta["calibration"]["v_neg_volts"] == -0.5 and meta["calibration"]["mismatch_seed"] == 3
    th = graph.nodes["layer0_if"].v_threshold
    assert th.shape == (20, 26, 26) and np.unique(th).size > 1  # per-neuron thresholds
    assert "transfer_x" in meta["layers"]["layer0_if"]
    rc = main(["--quiet", "evaluate", "--nir", str(out), "--data-root", str(data),
               "--timesteps", "8", "--out", str(tmp_path / "e.csv")])
    assert rc == 0
    side = json.loads((tmp_path / "e.json").read_text())
    assert side["nir_calibration"]["v_neg_volts"] == -0.5 and side["floor"] != "none"
    # the same calibrated neurons built here and simulated directly: the same accuracy curve
    import cosim
    from calib import Calibration
    from nmpkit import evaluate as ev
    from nmpkit.data import load_dataset, to_tensor
    from nmpkit.train import load_weights
    from nmpkit.zoo import get_network

    spec, ds = get_network("mnist"), load_dataset("mnist", data)
    mean, std = spec.norm_for("mnist")
    cfg = ev.EvalConfig(timesteps=8, lower_bound=None, calibration_samples=30)
    net = ev.convert(load_weights(spec, w), to_tensor(ds.x_train[:30], mean, std), cfg)
    neurons = cosim.calibrated_neurons(Calibration.load(cal_path), [ly.shape for ly in net.layers],
                                       v_neg_volts=-0.5, generator=torch.Generator().manual_seed(3))
    res = cosim.simulate(net, to_tensor(ds.x_test, mean, std), timesteps=8, neuron=neurons)
    direct = res.accuracy_per_step(torch.from_numpy(ds.y_test)).numpy()
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "e.csv").accuracy.to_numpy(), direct)


def test_a_graph_without_nmpkit_metadata_is_evaluated_with_a_note(files, tmp_path, capsys):
    d, w, data = files
    out = tmp_path / "plain.nir"
    assert main(["--quiet", "export-nir", "mnist", "--weights", str(w), "--data-root", str(data),
                 "--calibration-samples", "30", "--out", str(out)]) == 0
    graph = nir.read(out)
    graph.metadata = {}  # as another tool would write it
    nir.write(out, graph)
    rc = main(["evaluate", "--nir", str(out), "--data-root", str(data), "--timesteps", "6",
               "--out", str(tmp_path / "p.csv")])
    assert rc == 2 and "names no network" in capsys.readouterr().err
    rc = main(["evaluate", "mnist", "--nir", str(out), "--data-root", str(data), "--timesteps",
               "6", "--out", str(tmp_path / "p.csv")])
    assert rc == 0 and "note: NIR graph has no 'nmpkit' metadata" in capsys.readouterr().out
    side = json.loads((tmp_path / "p.json").read_text())
    assert side["floor"] == "none" and "NMP" in side["notes"][0]


def test_bad_inputs_get_one_line_errors(files, tmp_path, capsys):
    d, w, data = files
    rc = main(["export-nir", "mnist", "--weights", str(w), "--data-root", str(data),
               "--calibration", "x.json", "--out", str(tmp_path / "a.nir")])
    assert rc == 2 and "--v-neg" in capsys.readouterr().err
    rc = main(["evaluate", "--nir", str(tmp_path / "missing.nir"), "--data-root", str(data),
               "--timesteps", "5"])
    assert rc == 2 and "not found" in capsys.readouterr().err
    lif = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([784])}),
               "fc": nir.Affine(weight=np.ones((2, 784), np.float32), bias=np.zeros(2, np.float32)),
               "lif": nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                              v_threshold=np.ones(2)),
               "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    nir.write(tmp_path / "lif.nir", lif)
    rc = main(["evaluate", "mnist", "--nir", str(tmp_path / "lif.nir"), "--data-root", str(data),
               "--timesteps", "5"])
    assert rc == 2 and "'lif' of type LIF" in capsys.readouterr().err
    rc = main(["evaluate", "--weights", str(w), "--timesteps", "5", "--data-root", str(data)])
    assert rc == 2 and "NETWORK is required" in capsys.readouterr().err
