import math

import numpy as np
import pytest

from circuits.design import default_design
from circuits.montecarlo import A_BETA_METERS, A_VT_VOLT_METERS, device_sizes, mismatch_for
from circuits.point import Point, simulate_point
from circuits.render import DEVICES
from tests.circuits.conftest import needs_ngspice


def test_seeded_and_order_independent():
    d = default_design()
    a = mismatch_for(d, seed=3, sample=7)
    assert a == mismatch_for(d, seed=3, sample=7)
    assert a != mismatch_for(d, seed=3, sample=8)
    assert a != mismatch_for(d, seed=4, sample=7)
    assert set(a) == {f"{p}_{dev}" for dev in DEVICES for p in ("dvt", "mu")}


def test_pelgrom_scaling():
    """Sample spread per device matches A/sqrt(WL) (chi-square-level tolerance at n=2000)."""
    d = default_design()
    n = 2000
    samples = [mismatch_for(d, seed=1, sample=k) for k in range(n)]
    sizes = device_sizes(d)
    for dev in ("mp1", "mn3", "mr2", "mp14a", "mpd"):
        w, l_ = sizes[dev]
        dvt = np.array([s[f"dvt_{dev}"] for s in samples])
        mu = np.array([s[f"mu_{dev}"] for s in samples])
        assert np.std(dvt) == pytest.approx(A_VT_VOLT_METERS / math.sqrt(w * l_), rel=0.08)
        assert np.std(mu - 1) == pytest.approx(A_BETA_METERS / math.sqrt(w * l_), rel=0.08)
        assert abs(np.mean(dvt)) < 4 * np.std(dvt) / math.sqrt(n)


@needs_ngspice
def test_mismatch_changes_rate_by_plausible_amount():
    d = default_design()
    rates = []
    for k in range(6):
        r = simulate_point(d, Point(kind="mc", v_dd_volts=1.0, v_neg_volts=-0.5, i_exc_amps=1e-7,
                                    mc_sample=k, seed=0))
        rates.append(r["rate_hertz"])
    nominal = simulate_point(d, Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-0.5,
                                      i_exc_amps=1e-7))["rate_hertz"]
    gains = np.array(rates) / nominal
    assert np.all(gains > 0.5) and np.all(gains < 2.0)
    assert np.std(gains) > 0.01  # the samples really differ


def _netlist_sizes(design) -> dict[str, tuple[float, float]]:
    """(W, L) of every transistor as the subcircuit file writes them, its ``{...}`` expressions
    evaluated with the design's parameters (an independent reading of the netlist)."""
    import re

    from circuits.subckt import subckt_source

    names = dict(design.subckt_params())
    out = {}
    for line in subckt_source(design.topology).split("\n"):
        if not re.match(r"M\w+ ", line):
            continue
        vals = []
        for key in ("w", "l"):
            expr = re.search(rf" {key}=(\{{[^}}]*\}}|\S+)", line).group(1).strip("{}")
            vals.append(float(eval(expr, {"__builtins__": {}}, names)))  # noqa: S307
        out[line.split()[0].lower()] = (vals[0], vals[1])
    return out


@pytest.mark.parametrize("name", ["default", "raised_rest"])
def test_mismatch_sizes_are_the_netlists(name):
    """Pelgrom's sigma comes from each device's W·L: `device_sizes` must be what the subcircuit
    instantiates (it had the raised-rest sense inverter and detector for the study neuron)."""
    from circuits.design import preset
    from circuits.render import DEVICES_BY_TOPOLOGY

    d = preset(name)
    got, want = device_sizes(d), _netlist_sizes(d)
    assert sorted(want) == sorted(DEVICES_BY_TOPOLOGY[d.topology])
    for dev in want:
        assert got[dev] == pytest.approx(want[dev], rel=1e-9), dev
