"""The rule's fitted κ (written by ``results/what_makes_zmp_hurt.py``; do not edit by hand).

Placeholder until the study has run.
"""

from nmpkit.studies.zmp_rule import ZmpRule

DEFAULT_RULE = ZmpRule(kappa=0.4, timesteps=300, residual_sd=0.0, fitted_on=())

__all__ = ["DEFAULT_RULE"]
