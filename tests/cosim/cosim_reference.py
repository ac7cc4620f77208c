"""An independent, obviously-correct step-by-step IF reference for the cosim tests.

It never imports cosim: it runs the original torch modules (float64) one step at a time, with
IF neurons in place of every ReLU and after the final layer, written straight from the spec:

    v starts at v_init * theta; then every step:
    if refractory counter r > 0: no spike, v unchanged, r -= 1
    else: x = transfer(gain * x); v += x; s = v >= theta; reset (subtract theta, or to 0);
          then, where x < 0 only, v = max(v, lower_bound * theta) (no floor for None);
          r = R where s
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class RefNeuron:
    threshold: float | Tensor = 1.0  # scalar or a tensor of the layer's logical shape
    gain: float | Tensor = 1.0
    lower_bound: float | None = None
    reset: str = "subtract"
    transfer: tuple[Tensor, Tensor] | None = None
    refractory_steps: int = 0
    v_init: float = 0.0  # membrane at t = 0, threshold units


def leaves(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in leaves(child)]
    return [module]


def segments(model: nn.Module) -> list[list[nn.Module]]:
    """Split the module chain at every ReLU; a trailing weighted/pooling part is the output."""
    segs, cur = [], []
    for m in leaves(model):
        if isinstance(m, nn.Dropout):
            continue
        if isinstance(m, nn.ReLU):
            segs.append(cur)
            cur = []
        else:
            cur.append(m)
    if any(not isinstance(m, nn.Flatten) for m in cur):
        segs.append(cur)
    elif cur:
        segs[-1] = segs[-1] + cur
    return segs


def layer_shapes(model: nn.Module, shape_in: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Per-sample output shape of every segment (spiking layer) of ``model``."""
    shapes = []
    with torch.no_grad():
        h = torch.zeros(1, *shape_in)
        for seg in segments(model):
            for m in seg:
                h = m(h)
            shapes.append(tuple(h.shape[1:]))
    return shapes


def interp(x: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Piecewise-linear with linear extrapolation: segment = number of inner knots <= x."""
    idx = torch.zeros_like(x, dtype=torch.long)
    for knot in xs[1:-1]:
        idx += (x >= knot).long()
    x0, x1, y0, y1 = xs[idx], xs[idx + 1], ys[idx], ys[idx + 1]
    return y0 + (x - x0) * ((y1 - y0) / (x1 - x0))


def ref_step(v: Tensor, r: Tensor, h: Tensor,
             n: RefNeuron) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One step, float64, straight from the spec: returns (bool spikes, v, r, charge), charge =
    what the floor removed from each neuron, in thresholds (0 without a floor)."""
    v, h = v.double(), h.double()
    th = torch.as_tensor(n.threshold, dtype=torch.float64)
    xin = h * torch.as_tensor(n.gain, dtype=torch.float64)
    if n.transfer is not None:
        xin = interp(xin, n.transfer[0].double(), n.transfer[1].double())
    active = r == 0
    v = v + torch.where(active, xin, torch.zeros_like(xin))
    s = (v >= th) & active
    if n.reset == "subtract":
        v = v - s.double() * th
    else:
        v = torch.where(s, torch.zeros_like(v), v)
    charge = torch.zeros_like(v)
    if n.lower_bound is not None:  # the floor bounds inhibition: a step whose input is < 0
        floor = n.lower_bound * th * torch.ones_like(v)
        held = (v < floor) & active & (xin < 0)
        charge = torch.where(held, (floor - v) / th, charge)
        v = torch.where(held, floor, v)
    r = torch.where(s, torch.full_like(r, n.refractory_steps), torch.clamp(r - 1, min=0))
    return s, v, r, charge


def poisson_train(x: Tensor, timesteps: int, seed: int, chunk: int) -> Tensor:
    """(T, B, ...) input spikes drawn as cosim documents: chunk by chunk, step by step."""
    g = torch.Generator().manual_seed(seed)
    x = x.float()
    out = torch.zeros((timesteps, *x.shape))
    for b0 in range(0, x.shape[0], chunk):
        xc = x[b0:b0 + chunk]
        for t in range(timesteps):
            u = torch.rand(xc.shape, generator=g, dtype=torch.float32)
            out[t, b0:b0 + chunk] = torch.sign(xc) * (u < xc.abs())
    return out


def run_reference(model: nn.Module, x: Tensor, timesteps: int, neurons: list[RefNeuron],
                  input_train: Tensor | None = None) -> dict:
    """Returns counts (per layer, logical shapes), out_spikes (T, B, ...), out_v (T, B, ...),
    floor_charge (per layer (B,): charge the floor removed, thresholds, summed over neurons and
    steps) and floor_hits (per layer (B,): neurons that hit the floor at least once)."""
    model = copy.deepcopy(model).eval().double()
    segs = segments(model)
    assert len(neurons) == len(segs)
    v: list[Tensor | None] = [None] * len(segs)
    r: list[Tensor | None] = [None] * len(segs)
    counts: list[Tensor | None] = [None] * len(segs)
    charge: list[Tensor | None] = [None] * len(segs)
    hit: list[Tensor | None] = [None] * len(segs)
    out_spikes, out_v = [], []
    with torch.no_grad():
        for t in range(timesteps):
            h = (x if input_train is None else input_train[t]).double()
            for i, seg in enumerate(segs):
                for m in seg:
                    h = m(h)
                if v[i] is None:
                    th = neurons[i].threshold
                    v[i] = torch.zeros_like(h) + neurons[i].v_init * (
                        th.double() if isinstance(th, Tensor) else th)
                    r[i] = torch.zeros_like(h, dtype=torch.long)
                    counts[i] = torch.zeros_like(h)
                    charge[i] = torch.zeros(h.shape[0], dtype=torch.float64)
                    hit[i] = torch.zeros_like(h, dtype=torch.bool)
                s, v[i], r[i], c = ref_step(v[i], r[i], h, neurons[i])
                charge[i] = charge[i] + c.reshape(c.shape[0], -1).sum(1)
                hit[i] = hit[i] | (c > 0)
                counts[i] = counts[i] + s.double()
                h = s.double()
            out_spikes.append(h.bool())
            out_v.append(v[-1].clone())
    return {"counts": counts, "out_spikes": torch.stack(out_spikes), "out_v": torch.stack(out_v),
            "floor_charge": charge,
            "floor_hits": [h.reshape(h.shape[0], -1).sum(1) for h in hit]}


def membrane_predictions(out_spikes: Tensor, out_v: Tensor) -> Tensor:
    """(T, B): most spikes so far; ties to the highest membrane potential, then lowest index."""
    T, B, n = out_spikes.shape
    preds = torch.zeros((T, B), dtype=torch.long)
    cum = torch.zeros((B, n))
    for t in range(T):
        cum += out_spikes[t].double()
        for b in range(B):
            best = None
            for k in range(n):
                key = (float(cum[b, k]), float(out_v[t, b, k]))
                if best is None or key > best[0]:
                    best = (key, k)
            preds[t, b] = best[1]
    return preds


def check_floor_statistics(res, ref: dict) -> None:
    """The engine's floor statistics against the reference: hits exactly; the discarded charge
    to float32 accuracy (the engine sums the absolute charge in float32 per neuron and divides by
    the threshold once; the reference divides every step, in float64). Without
    ``record_floor`` the result has none."""
    if res.floor_hits is None:
        assert res.floor_discarded is None
        return
    for i, (a, b) in enumerate(zip(res.floor_hits, ref["floor_hits"], strict=True)):
        assert torch.equal(a.long(), b.long()), f"layer {i}: floor hits differ"
    for i, (a, b) in enumerate(zip(res.floor_discarded, ref["floor_charge"], strict=True)):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), f"layer {i}: discarded charge"
