"""The co-simulation check's network: input (7×7 pooled image) → hidden → 10, trained and
converted here (`small_network`), and its Linear layers as plain arrays (`linear_ops`) for the
ngspice netlist."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def small_network(x_train: np.ndarray, y_train: np.ndarray, *, hidden: int = 20, seed: int = 0,
                  epochs: int = 3, n_train: int = 10_000):
    """Train input(7×7) → hidden → 10 on pooled images and convert it.

    Args:
        x_train: (N, 1, 28, 28) or (N, 28, 28) uint8 images; y_train: (N,) labels.

    Returns:
        ``(net, pool)``: the converted ``cosim.SpikingNetwork`` and the function that turns
        uint8 images into its (B, 49) inputs.
    """
    from cosim import convert

    def pool(x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.asarray(x, dtype=np.float32).copy()).reshape(-1, 1, 28, 28) / 255.0
        return nn.functional.avg_pool2d(t, 4).reshape(t.shape[0], 49)

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = pool(x_train[:n_train])
    y = torch.as_tensor(np.asarray(y_train[:n_train]), dtype=torch.long)
    model = nn.Sequential(nn.Linear(49, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        for i in range(0, x.shape[0], 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return convert(model, x[:2000], percentile=99.9), pool


def linear_ops(net) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(weight, bias), ...]`` per layer as float64 arrays (bias zeros when absent).

    Raises:
        ValueError: a layer that is not exactly one Linear op (flatten aside)."""
    out = []
    for ly in net.layers:
        ops = [op for op in ly.ops if op.kind != "flatten"]
        if len(ops) != 1 or ops[0].kind != "linear":
            raise ValueError(f"layer {ly.name!r}: the check needs one Linear op per layer, got "
                             f"{[op.kind for op in ly.ops]}")
        w = ops[0].weight.detach().double().numpy()
        b = (np.zeros(w.shape[0]) if ops[0].bias is None
             else ops[0].bias.detach().double().numpy())
        out.append((w, b))
    return out


__all__ = ["linear_ops", "small_network"]
