"""Will the zero floor (ZMP) hurt this network? A check on the converted weights, before simulating.

Physics. A hidden neuron of layer ``l >= 1`` is driven by spikes. Split its input current per
step (in thresholds θ, rates = the normalized ANN activations of the layer below, clipped to
[0, 1] spikes per step) into an excitatory part ``P`` and an inhibitory part ``N`` (through the
layer's whole op chain: a weight ``w`` sends ``w⁺`` of an excitatory input to ``P`` and ``w⁻``
to ``N``, and the other way round for an inhibitory one; biases by sign). With a negative
membrane (NMP) the neuron fires at ``max(P − N, 0)``; with the floor at 0 every unit of
inhibition that arrives while the membrane sits at 0 is lost, so its rate can rise up to ``P``:
the excess is at most the *cancelled drive* ``min(P, N)``. Layer 0 is driven by a constant
analog current (no cancellation in time: its neurons see the same net current every step) and
counts 0.

``layer_drive`` gives, per layer, the mean over neurons and samples of ``P``, ``N``,
``min(P, N)`` and the ANN activation (all θ per step), and the fraction of neurons whose net
drive is negative while they receive excitation (the ones ZMP can make fire when the ANN says
0). ``zmp_score`` is the statistic the rule uses: the cancelled drive relative to the mean rate,
summed over the spiking layers (a distortion per layer that adds up with depth). ``ZmpRule``
turns a score into a predicted ZMP loss (NMP − ZMP accuracy at ``timesteps``), a line fitted in
``results/what_makes_zmp_hurt.md`` (``fit_rule``): ``predict_zmp_loss(net, x)`` is the check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cosim.network import WEIGHTED, SpikingNetwork, SynapticOp, apply_ops
from nmpkit.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerDrive:
    """One spiking layer's drive, in θ per step, averaged over neurons and samples."""

    name: str
    excitatory: float
    inhibitory: float
    cancelled: float
    """mean of min(P, N): the most charge per step the zero floor can discard and turn into
    spurious spikes."""
    rate: float
    """mean normalized ANN activation (clipped to [0, 1]): the rate NMP aims at."""
    negative_but_excited: float
    """fraction of neurons with P > 0 and P < N."""

    @property
    def relative(self) -> float:
        """cancelled / rate (0 when the layer is silent)."""
        return self.cancelled / self.rate if self.rate > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"relative": self.relative}


def _split_op(op: SynapticOp, p: Tensor, n: Tensor) -> tuple[Tensor, Tensor]:
    """Push (excitatory, inhibitory) through one op; both stay >= 0."""
    if op.kind not in WEIGHTED:
        return op(p), op(n)
    wp, wn = op.weight.clamp(min=0), (-op.weight).clamp(min=0)
    o = op.options

    def lin(x: Tensor, w: Tensor) -> Tensor:
        if op.kind == "conv2d":
            return F.conv2d(x, w, None, **o)
        if op.kind == "conv_transpose2d":
            return F.conv_transpose2d(x, w, None, **o)
        return F.linear(x, w)

    p2, n2 = lin(p, wp) + lin(n, wn), lin(p, wn) + lin(n, wp)
    if op.bias is not None:
        shape = (1, -1) + (1,) * (p2.ndim - 2)
        p2 = p2 + op.bias.clamp(min=0).view(shape)
        n2 = n2 + (-op.bias).clamp(min=0).view(shape)
    return p2, n2


def _check_inputs(net: SpikingNetwork, inputs: Tensor) -> Tensor:
    if not isinstance(net, SpikingNetwork):
        raise ConfigError(f"net must be a cosim.SpikingNetwork (from cosim.convert), got "
                          f"{type(net).__name__}")
    if not isinstance(inputs, Tensor) or tuple(inputs.shape[1:]) != tuple(net.input_shape) \
            or inputs.shape[0] < 1:
        got = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
        raise ConfigError(f"inputs must be a (B >= 1, {', '.join(map(str, net.input_shape))}) "
                          f"tensor of the network's input, got {got}")
    if not inputs.is_floating_point() or not torch.isfinite(inputs).all():
        raise ConfigError("inputs must be finite floating-point values")
    return inputs.float()


@torch.no_grad()
def layer_drive(net: SpikingNetwork, inputs: Tensor, encoding: str = "current"
                ) -> list[LayerDrive]:
    """Excitatory/inhibitory drive of every spiking layer of ``net`` on ``inputs`` (a few
    batches of training or test images, as the converter's calibration batch).

    ``encoding`` as in ``cosim.SimConfig``: with ``"current"`` layer 0 sees a constant current
    and counts no cancellation; with ``"poisson"`` its input is spikes of rate |x| and sign(x),
    split like any other layer's.
    """
    if encoding not in ("current", "poisson"):
        raise ConfigError(f"encoding must be 'current' or 'poisson', got {encoding!r}")
    x = _check_inputs(net, inputs)
    out: list[LayerDrive] = []
    for i, ly in enumerate(net.layers):
        if i == 0 and encoding == "current":
            cur = apply_ops(ly.ops, x)
            act = (cur.clamp(min=0) if ly.relu else cur).clamp(0, 1)
            out.append(LayerDrive(name=ly.name, excitatory=float(cur.clamp(min=0).mean()),
                                  inhibitory=float((-cur).clamp(min=0).mean()), cancelled=0.0,
                                  rate=float(act.mean()), negative_but_excited=0.0))
        else:
            if i == 0:
                p, n = x.clamp(0, 1), (-x).clamp(0, 1)
            else:
                p, n = prev, torch.zeros_like(prev)
            for op in ly.ops:
                p, n = _split_op(op, p, n)
            act = (p - n).clamp(0, 1)
            out.append(LayerDrive(
                name=ly.name, excitatory=float(p.mean()), inhibitory=float(n.mean()),
                cancelled=float(torch.minimum(p, n).mean()), rate=float(act.mean()),
                negative_but_excited=float(((p > 0) & (p < n)).double().mean())))
        prev = act
    return out


def zmp_score(drive: Sequence[LayerDrive]) -> float:
    """The rule's statistic: Σ over spiking layers of cancelled / rate (see the module doc)."""
    return float(sum(d.relative for d in drive))


@dataclass(frozen=True, slots=True, kw_only=True)
class ZmpRule:
    """Predicted ZMP loss (NMP − ZMP accuracy, a fraction) = slope × score + intercept."""

    slope: float
    intercept: float
    timesteps: int
    residual_sd: float
    """sd of the fit's residuals (fraction): the prediction's rough uncertainty."""
    fitted_on: tuple[str, ...]

    def predict(self, score: float) -> float:
        return max(0.0, self.slope * score + self.intercept)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_rule(scores: Sequence[float], losses: Sequence[float], names: Sequence[str],
             timesteps: int) -> ZmpRule:
    """Least-squares line of measured loss on score over the fit networks (>= 3)."""
    s, y = np.asarray(scores, float), np.asarray(losses, float)
    if s.shape != y.shape or s.ndim != 1 or s.size < 3 or len(names) != s.size:
        raise ConfigError(f"fit_rule needs >= 3 networks with one score, loss and name each, "
                          f"got {s.size} scores, {y.size} losses, {len(names)} names")
    if not (np.isfinite(s).all() and np.isfinite(y).all()) or np.ptp(s) == 0:
        raise ConfigError("fit_rule needs finite scores that are not all equal")
    slope, intercept = np.polyfit(s, y, 1)
    res = y - (slope * s + intercept)
    sd = float(math.sqrt((res ** 2).sum() / max(1, s.size - 2)))
    return ZmpRule(slope=float(slope), intercept=float(intercept), timesteps=int(timesteps),
                   residual_sd=sd, fitted_on=tuple(names))


@dataclass(frozen=True, slots=True, kw_only=True)
class ZmpPrediction:
    score: float
    predicted_loss: float
    """NMP − ZMP accuracy (fraction) the rule predicts at ``rule.timesteps``."""
    rule: ZmpRule
    layers: tuple[LayerDrive, ...]

    def line(self, measured: float | None = None) -> str:
        """The report's sentence: "this network's predicted ZMP loss: …, measured: …"."""
        sd = 100 * self.rule.residual_sd
        text = (f"this network's predicted ZMP loss at T = {self.rule.timesteps}: "
                f"{100 * self.predicted_loss:.1f} %p (± {sd:.1f} %p, score {self.score:.2f})")
        return text + (f", measured: {100 * measured:+.2f} %p" if measured is not None else "")


def predict_zmp_loss(net: SpikingNetwork, inputs: Tensor, rule: ZmpRule | None = None, *,
                     encoding: str = "current") -> ZmpPrediction:
    """The rule on a converted network and a few batches of its inputs (``DEFAULT_RULE``, the
    study's fit, unless ``rule`` is given)."""
    from nmpkit.studies.zmp_rule_fit import DEFAULT_RULE

    rule = DEFAULT_RULE if rule is None else rule
    drive = tuple(layer_drive(net, inputs, encoding))
    score = zmp_score(drive)
    return ZmpPrediction(score=score, predicted_loss=rule.predict(score), rule=rule,
                         layers=drive)


__all__ = ["LayerDrive", "ZmpPrediction", "ZmpRule", "fit_rule", "layer_drive",
           "predict_zmp_loss", "zmp_score"]
