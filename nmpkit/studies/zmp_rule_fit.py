"""The rule's fitted line (written by ``results/what_makes_zmp_hurt.py``; do not edit by hand).

Placeholder until the study has run: slope 0, so every prediction is 0 %p.
"""

from nmpkit.studies.zmp_rule import ZmpRule

DEFAULT_RULE = ZmpRule(slope=0.0, intercept=0.0, timesteps=300, residual_sd=0.0, fitted_on=())

__all__ = ["DEFAULT_RULE"]
