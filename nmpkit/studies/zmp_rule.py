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
``min(P, N)`` and the ANN activation (all θ per step); ``zmp_score`` sums cancelled / rate over
the layers. Measured (results/what_makes_zmp_hurt.md) these do NOT predict the ZMP loss: the
balance of excitation and inhibition is about the same in nets that lose 0 and 45 %p.

What does (the rule): the *diffusion surrogate*. How many spurious spikes the floor makes depends
on how far the membrane fluctuates below 0, i.e. on the input's variance per step relative to θ
(large single weights, few inputs), not only on its mean. Treat each neuron's input as a drift
μ (the ANN current) plus noise of variance κ · Σ_j w_ij² r_j (1 − r_j) (Bernoulli spikes at the
layer below's rates, scaled by κ because IF spike trains are more regular); under NMP the rate
is clip(μ, 0, 1), under ZMP the reflected drift-diffusion rate ``zmp_rate``; propagate both
through the net on a few labelled batches (``surrogate_outputs``) and the difference of their
accuracies is the predicted ZMP loss (``surrogate_loss``, ``predict_zmp_loss``). κ is the one
fitted number (``fit_rule``; the study's fit is ``DEFAULT_RULE``, from ``zmp_rule_fit.FITTED``).
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
from nmpkit.studies.zmp_rule_fit import FITTED


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
    prev = x
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


KAPPA_GRID: tuple[float, ...] = tuple(round(0.1 * 2 ** (k / 4), 4) for k in range(13))
"""κ values the fit tries: 0.1 … 0.8 in quarter octaves."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ZmpRule:
    """Predicted ZMP loss (NMP − ZMP accuracy, a fraction) = the diffusion surrogate's loss at
    ``kappa`` (``surrogate_loss``), fitted on the study's nets at ``timesteps``."""

    kappa: float
    timesteps: int
    residual_sd: float
    """sd of the fit's residuals (fraction): the prediction's rough uncertainty."""
    fitted_on: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_RULE = ZmpRule(**FITTED)
"""The study's fit (`nmpkit.studies.zmp_rule_fit`, written by results/what_makes_zmp_hurt.py)."""


def fit_rule(table: Sequence[Sequence[float]], losses: Sequence[float], names: Sequence[str],
             timesteps: int, grid: Sequence[float] = KAPPA_GRID) -> ZmpRule:
    """The κ of ``grid`` whose surrogate losses (``table[net][k]``) best match the measured
    ``losses`` (least squares) over the fit networks (>= 3)."""
    tab, y = np.asarray(table, float), np.asarray(losses, float)
    if tab.ndim != 2 or tab.shape != (y.size, len(grid)) or y.size < 3 or len(names) != y.size:
        raise ConfigError(f"fit_rule needs >= 3 networks with a surrogate loss per κ "
                          f"({len(grid)}), a measured loss and a name each, got table "
                          f"{tab.shape}, {y.size} losses, {len(names)} names")
    if not (np.isfinite(tab).all() and np.isfinite(y).all()):
        raise ConfigError("fit_rule needs finite surrogate and measured losses")
    sse = ((tab - y[:, None]) ** 2).sum(0)
    k = int(np.argmin(sse))
    sd = float(math.sqrt(sse[k] / max(1, y.size - 1)))
    return ZmpRule(kappa=float(grid[k]), timesteps=int(timesteps), residual_sd=sd,
                   fitted_on=tuple(names))


@dataclass(frozen=True, slots=True, kw_only=True)
class ZmpPrediction:
    predicted_loss: float
    """NMP − ZMP accuracy (fraction) the rule predicts at ``rule.timesteps``."""
    rule: ZmpRule
    score: float
    """the cancelled-drive statistic (a diagnostic; it does not predict the loss)."""
    layers: tuple[LayerDrive, ...]

    def line(self, measured: float | None = None) -> str:
        """The report's sentence: "this network's predicted ZMP loss: …, measured: …"."""
        sd = 100 * self.rule.residual_sd
        text = (f"this network's predicted ZMP loss at T = {self.rule.timesteps}: "
                f"{100 * self.predicted_loss:.1f} %p (± {sd:.1f} %p, diffusion surrogate, "
                f"κ = {self.rule.kappa:g})")
        return text + (f", measured: {100 * measured:+.2f} %p" if measured is not None else "")


def predict_zmp_loss(net: SpikingNetwork, inputs: Tensor, labels: Tensor,
                     rule: ZmpRule | None = None, *, encoding: str = "current"
                     ) -> ZmpPrediction:
    """The rule on a converted network and a few labelled batches of its inputs
    (``DEFAULT_RULE``, the study's fit, unless ``rule`` is given)."""
    rule = DEFAULT_RULE if rule is None else rule
    drive = tuple(layer_drive(net, inputs, encoding))
    return ZmpPrediction(predicted_loss=surrogate_loss(net, inputs, labels, rule.kappa,
                                                       encoding),
                         rule=rule, score=zmp_score(drive), layers=drive)


# ----- the diffusion surrogate: ZMP rates from drift and variance, no spikes simulated -----------


def zmp_rate(drift: Tensor, diffusion: Tensor) -> Tensor:
    """Rate of an IF neuron held at >= 0 (ZMP) with net drive ``drift`` θ/step and diffusion
    ``diffusion`` (θ²/step, half the input's variance per step): 1 / mean first-passage time
    from the reflecting floor 0 to the threshold 1, ``1/μ − D/μ² (1 − e^(−μ/D))`` (``1/(2D)`` at
    μ = 0), clipped to [0, 1]. With D → 0 it is max(μ, 0), the NMP rate."""
    d = diffusion.clamp(min=1e-12)
    small = drift.abs() < 1e-6
    mu = torch.where(small, torch.ones_like(drift), drift)
    t = 1 / mu - d / mu ** 2 * (1 - torch.exp(-(mu / d).clamp(-60, 60)))
    t = torch.where(small, 1 / (2 * d), t)
    return torch.where(diffusion <= 1e-12, drift.clamp(min=0), 1 / t.clamp(min=1e-12)).clamp(0, 1)


def _var_op(op: SynapticOp, v: Tensor) -> Tensor:
    """Variance through one linear op (independent inputs): squared weights."""
    o = op.options
    if op.kind == "conv2d":
        return F.conv2d(v, op.weight ** 2, None, **o)
    if op.kind == "conv_transpose2d":
        return F.conv_transpose2d(v, op.weight ** 2, None, **o)
    if op.kind == "linear":
        return F.linear(v, op.weight ** 2)
    if op.kind == "avg_pool2d":
        k = o["kernel_size"]
        area = k * k if isinstance(k, int) else k[0] * k[1]
        return op(v) / area
    if op.kind == "global_avg_pool":
        return op(v) / (v.shape[-1] * v.shape[-2])
    if op.kind == "scale":
        return v * op.weight ** 2
    return op(v)


@torch.no_grad()
def surrogate_outputs(net: SpikingNetwork, inputs: Tensor, kappa: float,
                      encoding: str = "current") -> tuple[Tensor, Tensor]:
    """Output rates of the NMP and ZMP surrogates: each layer's drift from the layer below's
    surrogate rates r, its variance κ · Σ w² r(1 − r) (κ: how much more regular IF spike trains
    are than Bernoulli ones, fitted), NMP rate clip(drift, 0, 1), ZMP rate ``zmp_rate``."""
    x = _check_inputs(net, inputs)
    if encoding not in ("current", "poisson"):
        raise ConfigError(f"encoding must be 'current' or 'poisson', got {encoding!r}")
    if not (isinstance(kappa, int | float) and math.isfinite(kappa) and kappa >= 0):
        raise ConfigError(f"kappa must be a finite number >= 0, got {kappa!r}")
    outs = []
    for zmp in (False, True):
        prev = x
        for i, ly in enumerate(net.layers):
            if i == 0 and encoding == "current":
                drift, var = apply_ops(ly.ops, x), torch.zeros(())
            else:
                r = prev.clamp(0, 1) if i else x.abs().clamp(0, 1)
                drift, var = (r if i else x.clamp(-1, 1)), r * (1 - r)
                for op in ly.ops:
                    drift, var = op(drift), _var_op(op, var)
            prev = zmp_rate(drift, kappa * var / 2 + torch.zeros_like(drift)) if zmp \
                else drift.clamp(0, 1)
        outs.append(prev)
    return outs[0], outs[1]


def surrogate_loss(net: SpikingNetwork, inputs: Tensor, labels: Tensor, kappa: float,
                   encoding: str = "current") -> float:
    """Accuracy of the NMP surrogate minus that of the ZMP surrogate on labelled inputs."""
    labels = torch.as_tensor(labels).reshape(-1).long()
    if labels.numel() != inputs.shape[0]:
        raise ConfigError(f"labels must have one entry per input ({inputs.shape[0]}), got "
                          f"{labels.numel()}")
    a, b = surrogate_outputs(net, inputs, kappa, encoding)
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    return float((a.argmax(1) == labels).double().mean()
                 - (b.argmax(1) == labels).double().mean())


__all__ = ["DEFAULT_RULE", "KAPPA_GRID", "LayerDrive", "ZmpPrediction", "ZmpRule", "fit_rule",
           "layer_drive", "predict_zmp_loss", "surrogate_loss", "surrogate_outputs", "zmp_rate",
           "zmp_score"]
