"""The −2 θ rule's sentence states the recommendation's energy against the rule in words."""

import pytest

from nmpkit.studies.tradeoff_decide import rule_sentence

RULE = {"exact": True, "v_neg_volts": -0.877, "v_dd_volts": 0.8, "timesteps": 200,
        "accuracy": 0.992, "accuracy_ci_low": 0.984, "accuracy_ci_high": 0.996, "samples": 1000,
        "drop_vs_nmp": 0.0, "drop_ci_low": -0.0038, "drop_ci_high": 0.0038,
        "energy_joules": 2.955e-6}


@pytest.mark.parametrize("ratio, words", [(-0.552, "costs 55.2% less than the rule"),
                                          (0.125, "costs 12.5% more than the rule"),
                                          (0.0001, "costs the same")])
def test_rule_sentence_energy_words(ratio: float, words: str) -> None:
    text = rule_sentence({"timesteps": 200, "rule": RULE, "energy_vs_rule": ratio})
    assert words in text and "%-" not in text and "-5" not in text.split("costs")[-1]
    assert "2955 nJ per inference" in text


def test_rule_sentence_without_energy_ratio() -> None:
    text = rule_sentence({"timesteps": 200, "rule": RULE})
    assert "costs" not in text and text.endswith("per inference.")


@pytest.mark.parametrize("v, shown", [(-0.875798, "V_NEG = -0.876 V"), (-0.5, "V_NEG = -0.5 V"),
                                      (0.0, "V_NEG = 0 V"), (-1.0, "V_NEG = -1 V")])
def test_rule_sentence_gives_v_neg_to_the_millivolt(v: float, shown: str) -> None:
    text = rule_sentence({"timesteps": 200, "rule": {**RULE, "v_neg_volts": v}})
    assert shown + " at V_DD = 0.8 V" in text
