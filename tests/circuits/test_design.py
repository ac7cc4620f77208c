import dataclasses

import pytest

from circuits.design import (
    PRESETS,
    NeuronDesign,
    default_design,
    design_from_mapping,
    load_design,
    preset,
)
from circuits.errors import DesignError

BAD_VALUES = [
    ("c_mem_farads", 0.0), ("c_mem_farads", -1e-12), ("c_mem_farads", float("nan")),
    ("c_fb_farads", 1.0), ("v_dd_volts", 5.0), ("v_dd_volts", float("inf")),
    ("v_neg_volts", 0.5), ("v_neg_volts", -3.0), ("w_exc_meters", 1e-9), ("l_exc_meters", 1.0),
    ("w_inh_meters", 0.0), ("l_inh_meters", -1e-6), ("mirror_ratio", 0.0),
    ("mirror_ratio", 100.0), ("w_sense_meters", 1.0), ("l_sense_meters", 1e-9),
    ("i_reset_amps", 0.0), ("t_pulse_seconds", 1.0), ("c_delay_farads", 0.0),
    ("w_reset_meters", 1e-9), ("l_reset_meters", 1e-3), ("reset_bias_ratio", 0.5),
    ("c_mem_farads", "5e-13"), ("v_dd_volts", True), ("model_cards", "sky130_secret"),
    ("topology", "spiky"), ("v_rst_volts", -3.0),
]


def test_default_is_valid_and_frozen():
    d = default_design()
    assert d.v_neg_volts <= 0 < d.v_dd_volts
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.c_mem_farads = 1e-12  # type: ignore[misc]
    # the study's neuron: one spike removes C_total * V_DD/2 (the threshold above rest)
    assert d.topology == "study"
    c_total = d.c_mem_farads + d.c_fb_farads
    assert d.q_reset_coulombs == pytest.approx(c_total * 0.5 * d.v_dd_volts)
    assert d.v_th_nominal_volts == pytest.approx(0.5 * d.v_dd_volts)
    old = preset("raised_rest")
    assert old.q_reset_coulombs == pytest.approx(old.i_reset_amps * old.t_pulse_seconds)
    assert d.to_dict()["q_reset_coulombs"] == d.q_reset_coulombs
    assert d.v_th_nominal_volts == pytest.approx(
        d.q_reset_coulombs / (d.c_mem_farads + d.c_fb_farads))


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_each_bad_value_names_field_and_value(field, value):
    with pytest.raises(DesignError) as exc:
        dataclasses.replace(default_design(), **{field: value})
    msg = str(exc.value)
    assert field in msg and repr(value) in msg


def test_range_is_in_message():
    with pytest.raises(DesignError, match=r"v_neg_volts must be in \[-2, 0\], got 0.5"):
        NeuronDesign(v_neg_volts=0.5)


def test_reset_charge_must_fit_feedback_kick():
    with pytest.raises(DesignError, match="q_reset_coulombs"):
        preset("raised_rest", i_reset_amps=1e-5, t_pulse_seconds=1e-7)


def test_reset_rail_must_be_at_or_below_the_floor():
    with pytest.raises(DesignError, match="v_rst_volts.*v_neg_volts"):
        NeuronDesign(v_neg_volts=-1.0, v_rst_volts=-0.5)
    assert NeuronDesign(v_neg_volts=-1.2, v_rst_volts=-1.2).v_rst_volts == -1.2


def test_presets_api_and_mapping():
    assert PRESETS == ("default", "raised_rest")
    assert preset() == default_design()
    old = preset("raised_rest", v_neg_volts=-1.0)
    assert old.topology == "raised_rest" and old.v_neg_volts == -1.0
    assert design_from_mapping({"preset": "raised_rest"}) == preset("raised_rest")
    assert design_from_mapping(old.to_dict()) == old
    with pytest.raises(DesignError, match="preset must be one of.*'zmp'"):
        preset("zmp")
    # each preset fills only its own netlist's params
    assert "v_rst_volts" not in default_design().subckt_params()
    assert "c_delay_farads" in old.subckt_params()


def test_mapping_and_toml(tmp_path):
    d = design_from_mapping(default_design().to_dict())
    assert d == default_design()
    with pytest.raises(DesignError, match="c_mem_farad"):
        design_from_mapping({"c_mem_farad": 1e-12})
    p = tmp_path / "d.toml"
    p.write_text("[design]\nv_neg_volts = -1.0\nc_mem_farads = 1e-12\n")
    assert load_design(p) == dataclasses.replace(default_design(), v_neg_volts=-1.0,
                                                 c_mem_farads=1e-12)
    p.write_text("v_neg_volts = 'deep'\n")
    with pytest.raises(DesignError, match="v_neg_volts"):
        load_design(p)
    p.write_text("v_neg_volts = \n")
    with pytest.raises(DesignError, match="TOML"):
        load_design(p)
