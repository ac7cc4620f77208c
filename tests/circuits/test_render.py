import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circuits.design import NeuronDesign, default_design, preset
from circuits.errors import DesignError, RenderError
from circuits.render import DEVICES, Stimulus, render_deck, spice_number

GOLDEN = Path(__file__).parent / "golden" / "if_neuron_fi.cir"
GOLDEN_RAISED = Path(__file__).parent / "golden" / "if_neuron_raised_rest_fi.cir"
STIM = Stimulus(i_exc_amps=1e-7, t_stop_seconds=5e-5, t_max_step_seconds=1e-7)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def test_golden_netlist():
    """Regenerate with: python -c 'from tests.circuits.test_render import regen; regen()'."""
    assert _lines(render_deck(default_design(), STIM)) == _lines(GOLDEN.read_text())
    assert _lines(render_deck(preset("raised_rest"), STIM)) == _lines(GOLDEN_RAISED.read_text())


def regen() -> None:  # pragma: no cover - a maintenance helper
    GOLDEN.write_text(render_deck(default_design(), STIM))
    GOLDEN_RAISED.write_text(render_deck(preset("raised_rest"), STIM))


def test_every_transistor_has_junction_geometry_and_a_mismatch_hook():
    import re

    from circuits.render import DEVICES_BY_TOPOLOGY
    from circuits.subckt import SUBCKT_FILES
    for topo, path in SUBCKT_FILES.items():
        mos = [ln for ln in path.read_text().splitlines() if re.match(r"^M\w+ ", ln)]
        assert {ln.split()[0].lower() for ln in mos} == set(DEVICES_BY_TOPOLOGY[topo])
        if topo == "study":  # the study netlist: AD/AS/PD/PS on every transistor
            for ln in mos:
                assert all(f" {k}=" in ln for k in ("ad", "as", "pd", "ps")), ln


def test_deck_structure():
    deck = render_deck(default_design(), STIM, attempt=2)
    assert ".subckt if_neuron exc inh mem out vdd vneg gnd vrst ctl" in deck
    assert "Vctl ctl 0 PWL(" in deck and "Vrst vrst 0 DC -1.2" in deck
    old = render_deck(preset("raised_rest"), STIM)
    assert ".subckt if_neuron exc inh mem out vdd vneg gnd\n" in old and "Vrst" not in old
    assert "method=gear" in deck and deck.rstrip().endswith(".end")
    assert ".control" not in deck.lower()
    level1 = render_deck(NeuronDesign(model_cards="generic_level1"), STIM)
    assert "level=1" in level1
    assert not [ln for ln in level1.splitlines() if ln.startswith("M") and "delvto" in ln]


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_spice_number_round_trips(x):
    text = spice_number(x)
    assert text.lower().strip("-+.0123456789e") == ""  # digits, sign, point, exponent only
    assert math.isclose(float(text), x, rel_tol=1e-8, abs_tol=1e-300)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "1e-6", True,
                                 None, "1 ; shell rm -rf ~", b"1", complex(1, 1)])
def test_spice_number_refuses(bad):
    with pytest.raises(RenderError):
        spice_number(bad)


@given(st.text(min_size=1, max_size=40))
def test_any_text_refused(text):
    with pytest.raises(RenderError):
        spice_number(text)


INJECTION = "1e-7)\n.control\nshell touch /tmp/nmpkit-pwned\n.endc\n*("


def test_injection_refused_everywhere(tmp_path):
    with pytest.raises(DesignError, match="i_exc_amps"):
        Stimulus(i_exc_amps=INJECTION, t_stop_seconds=1e-6, t_max_step_seconds=1e-8)
    with pytest.raises(DesignError, match="c_mem_farads"):
        NeuronDesign(c_mem_farads=INJECTION)
    with pytest.raises(RenderError, match="dvt_mp1"):
        render_deck(default_design(), STIM, mismatch={"dvt_mp1": INJECTION})
    with pytest.raises(RenderError, match="unknown mismatch parameter"):
        render_deck(default_design(), STIM, mismatch={"x\n.control": 0.0})
    # Even a design whose validation was bypassed cannot smuggle text into the deck.
    d = default_design()
    object.__setattr__(d, "c_fb_farads", INJECTION)
    with pytest.raises(RenderError, match="c_fb_farads"):
        render_deck(d, STIM)


def test_mismatch_rendered_and_checked():
    mm = {f"dvt_{dev}": 0.001 for dev in DEVICES}
    deck = render_deck(default_design(), STIM, mismatch=mm)
    assert deck.count("dvt_mp1=0.001") == 1
    with pytest.raises(RenderError, match="level 1"):
        render_deck(NeuronDesign(model_cards="generic_level1"), STIM, mismatch=mm)
    with pytest.raises(RenderError, match="attempt"):
        render_deck(default_design(), STIM, attempt=7)


def test_render_instance_for_multi_neuron_decks():
    from circuits.render import render_instance

    line = render_instance(default_design(), name="Xn7",
                           nodes=("e7", "i7", "m7", "o7", "vdd", "vneg", "0", "vrst", "ctl"))
    assert line.startswith("Xn7 e7 i7 m7 o7 vdd vneg 0 vrst ctl if_neuron c_mem_farads=")
    old = render_instance(preset("raised_rest"), name="Xn7",
                          nodes=("e7", "i7", "m7", "o7", "vdd", "vneg", "0"))
    assert old.startswith("Xn7 e7 i7 m7 o7 vdd vneg 0 if_neuron c_mem_farads=")
    with pytest.raises(RenderError, match="instance name"):
        render_instance(default_design(), name="X1 0 0\n.control")
    with pytest.raises(RenderError, match="nodes"):
        render_instance(default_design(), nodes=("a",) * 6 + ("b c",))
