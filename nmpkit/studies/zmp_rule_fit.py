"""The rule's fitted κ (written by ``results/what_makes_zmp_hurt.py``; do not edit by hand).

Fitted at T = 300 on 8 nets of the ZMP factor study
(results/what_makes_zmp_hurt.md, run what_makes_zmp_hurt/):
base, depth2, depth7, depth10, nobn, dropout, wd0, wd1e-3.
`nmpkit.studies.zmp_rule.DEFAULT_RULE` is ``ZmpRule(**FITTED)``.
"""

FITTED = {"kappa": 0.4757, "timesteps": 300, "residual_sd": 0.02593053841063901,
          "fitted_on": (
              'base',
              'depth2',
              'depth7',
              'depth10',
              'nobn',
              'dropout',
              'wd0',
              'wd1e-3',)}

__all__ = ["FITTED"]
