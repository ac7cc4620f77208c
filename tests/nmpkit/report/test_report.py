"""The HTML report: self-contained, every figure drawn (not blank), loads cleanly in Chromium."""

import base64
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from nmpkit.report.browser import check_page, chromium_path
from nmpkit.report.figures import FIGURES
from nmpkit.report.html import write_report
from nmpkit.studies.cosim_check import CosimCheckResult
from nmpkit.studies.modulation import ModulateResult


def _fake_run(run):
    """A run directory in the stage output formats, filled with made-up but plausible numbers."""
    rng = np.random.default_rng(0)
    (run / "characterize").mkdir(parents=True)
    t = np.linspace(0, 20e-6, 400)
    pd.DataFrame({"time_seconds": t, "v_mem_volts": (t * 5e4) % 0.5,
                  "v_out_volts": ((t * 5e4) % 0.5 > 0.45).astype(float)}).to_csv(
        run / "characterize/waveform.csv", index=False)
    rows = [dict(i_exc_amps=i, v_dd_volts=vdd, v_neg_volts=vn, temp_celsius=27.0,
                 rate_hertz=i / (1e-12 * 0.5) / (1 + i / 1e-6), n_spikes=10, v_th_volts=0.5,
                 spike_width_seconds=1e-8)
            for i in np.geomspace(1e-8, 1e-6, 8) for vdd in (0.8, 1.0) for vn in (0.0, -0.5)]
    pd.DataFrame(rows).to_csv(run / "characterize/fi.csv", index=False)
    pd.DataFrame([dict(i_inh_amps=1e-7, v_dd_volts=1.0, v_neg_volts=v, temp_celsius=27.0,
                       v_mem_min_volts=v + 0.01) for v in (0, -0.25, -0.5, -1.0)]).to_csv(
        run / "characterize/floor.csv", index=False)
    pd.DataFrame([dict(i_exc_amps=1e-7, v_dd_volts=v, v_neg_volts=0.0, rate_hertz=1e5,
                       e_spike_vdd_joules=2e-12 * v**2, e_spike_vneg_joules=0.0,
                       p_static_vneg_watts=0.0, regime="quadratic" if v < 1.3 else "crowbar")
                  for v in (0.8, 1.0, 1.2, 1.5)]).to_csv(run / "characterize/energy.csv",
                                                        index=False)
    (run / "evaluate").mkdir()
    ts = np.arange(1, 101)
    acc = pd.concat([pd.DataFrame({"condition": c, "lower_bound": lb, "t": ts,
                                   "accuracy": 0.9 * (1 - np.exp(-ts / k))})
                     for c, lb, k in (("nmp", np.nan, 10), ("zmp", 0.0, 20))])
    acc.to_csv(run / "evaluate/accuracy_per_step.csv", index=False)
    pd.DataFrame({"condition": ["nmp", "zmp", "f-0.1", "f-0.2"],
                  "lower_bound": [np.nan, 0.0, -0.1, -0.2],
                  "final_accuracy": [0.9, 0.8, 0.85, 0.88]}).to_csv(run / "evaluate/floors.csv",
                                                                   index=False)
    a = rng.random(200)
    pd.DataFrame({"condition": ["nmp"] * 100 + ["zmp"] * 100, "layer": [1] * 200,
                  "neuron": list(range(100)) * 2, "ann_activation": a,
                  "snn_rate": a + rng.normal(0, 0.05, 200)}).to_csv(
        run / "evaluate/correlation.csv", index=False)
    _fake_tradeoff(run / "tradeoff", n=3000)
    _fake_modulation(run / "modulate")
    c = rng.integers(0, 40, 40)
    (run / "cosim_check").mkdir()
    CosimCheckResult({"summary": [], "provenance": {"test": True}},
                     [{"v_neg_volts": 0.0 if i < 20 else -0.5, "layer": 1, "neuron": i,
                       "count_spice": int(c[i]), "count_calibrated": int(c[i]),
                       "count_ideal": int(c[i]) + 3} for i in range(40)]
                     ).save(run / "cosim_check")


def _fake_modulation(out):
    """A modulation result through the study's own writer (one layer per σ)."""
    layer = {"layer": "fc1", "synapses": 100, "iterations": 3, "pulses": 200,
             "estimate_error_rms_before": 0.1, "estimate_error_rms_after": 0.01,
             "true_error_rms_after": 0.02, "not_converged": 1}
    rows = [{"sigma": s, "accuracy_before": b, "accuracy_after": a, "layers": [layer]}
            for s, b, a in ((0.05, 0.88, 0.9), (0.1, 0.8, 0.89), (0.2, 0.6, 0.87))]
    out.mkdir(parents=True, exist_ok=True)
    ModulateResult({"ideal_accuracy": 0.9, "rows": rows, "provenance": {"test": True}}).save(out)


def _fake_tradeoff(out, n):
    """A trade-off result through the study's own writer, on constructed correctness vectors."""
    from nmpkit.studies.tradeoff_decide import decide, point_rows
    from nmpkit.studies.tradeoff_io import TradeoffResult

    rng = np.random.default_rng(1)
    ts = (25, 50, 100)
    nmp = {t: rng.random(n) < 0.8 + 0.03 * k for k, t in enumerate(ts)}
    pts = []
    for f, v, flips in ((0.0, 0.0, 60), (-1.0, -0.5, 2), (-2.0, -1.0, 0)):
        correct = {}
        for t in ts:
            c = nmp[t].copy()
            c[np.flatnonzero(c)[:flips]] = False
            correct[t] = c
        pts.append({"v_dd_volts": 1.0, "v_neg_volts": v, "floor_theta": f, "correct": correct,
                    "energy": {t: {"joules": (1 - 0.1 * f) * t * 1e-11, "samples": n}
                               for t in ts}})
    rows = point_rows(nmp, pts, 0.005)
    TradeoffResult({"rows": rows, "budgets": decide(rows, tolerance=0.005, default_v_dd=1.0),
                    "headline_timesteps": 100, "tolerance": 0.005, "confidence": 0.95,
                    "decision_rule": "non-inferiority", "network": "mnist", "preset": "study",
                    "notes": ["constructed"], "provenance": {"test": True}}).save(out)


def _images(page: str):
    return [mpimg.imread(io.BytesIO(base64.b64decode(b)), format="png")
            for b in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_every_figure_is_drawn_and_not_blank(tmp_path):
    _fake_run(tmp_path / "run")
    path = write_report(tmp_path / "run")
    page = path.read_text()
    imgs = _images(page)
    assert len(imgs) == len(FIGURES)
    for img in imgs:
        # a blank figure is one colour; a drawn one has lines and text in several
        assert img[..., :3].std() > 0.02
    assert "http://" not in page and "https://" not in page  # self-contained
    assert (path.parent / "evaluate__floors.csv").is_file()
    # the answer comes first, with its interval, the rule beside it; the budgets as a table
    first = page.index("Answer.")
    assert first < page.index("<h2>Stages")
    assert "within 0.5 %p of NMP at T = 100" in page and "95% CI" in page[first:first + 900]
    assert "−2 θ rule" in page and "n = 3,000" in page
    assert "Per-layer floors" not in page and "Optimizer" not in page


def test_unresolved_answer_and_optional_sections(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    _fake_tradeoff(run / "tradeoff", n=60)  # 60 images resolve nothing
    (run / "layers.json").write_text(json.dumps({"text": "layer 1 needs −1 θ, the rest ZMP",
                                                 "energy_saved_joules": 2e-9}))
    (run / "optimize").mkdir()
    (run / "optimize/optimize.json").write_text(json.dumps({"best": {"v_dd_volts": 0.9}}))
    page = write_report(run).read_text()
    assert "Unresolved at T = 100" in page and "would need about" in page
    assert "Per-layer floors" in page and "layer 1 needs −1 θ" in page and "2 nJ" in page
    assert "Optimizer&#x27;s best design" in page and "0.9 V" in page


def test_missing_stage_is_listed_not_drawn_blank(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    (run / "modulate/modulate.json").unlink()
    page = write_report(run).read_text()
    assert len(_images(page)) == len(FIGURES) - 1
    assert "Not in this run" in page and "weight modulation" in page


def test_missing_run_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "nope")


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium")
def test_report_loads_in_headless_chromium(tmp_path):
    _fake_run(tmp_path / "run")
    path = write_report(tmp_path / "run")
    res = check_page(path, tmp_path / "shot.png", height=2500)
    assert res.figures_ok, res
    assert res.title == f"nmpkit report: {len(FIGURES)}/{len(FIGURES)} figures"
    assert res.console == ()
    shot = mpimg.imread(res.screenshot)
    assert shot.shape[0] > 1000 and shot[..., :3].std() > 0.05


def test_everything_interpolated_into_the_page_is_escaped(tmp_path):
    """File names, stage summaries, the recommendation and the run path may hold HTML."""
    from html.parser import HTMLParser

    evil = '<img src=x onerror="alert(1)">'
    run = tmp_path / 'run<b id="p">'
    _fake_run(run)
    (run / "evaluate" / 'x"><svg onload=alert(2)>.csv').write_text("a\n1\n")
    (run / "evaluate" / "stage.json").write_text(json.dumps(
        {"stage": f"evaluate{evil}", "summary": {"note": evil}}))
    (run / "tradeoff/recommendation.json").write_text(json.dumps({"text": evil,
                                                                  "rule_text": evil}))
    page = write_report(run).read_text()

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attrs = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.attrs += attrs

    p = Tags()
    p.feed(page)
    assert p.tags.count("script") == 1  # the page's own figure check, nothing injected
    assert "svg" not in p.tags and ("id", "p") not in p.attrs
    assert not {"onerror", "onload"} & {name for name, _ in p.attrs}
    assert p.tags.count("img") == len(_images(page)) == len(FIGURES)  # the figures alone
    assert "&lt;svg onload=alert(2)&gt;" in page and "&lt;img src=x" in page  # text, not HTML
