"""The benchmark's MNIST network (20C3-50C5-FC500-FC10) and its weights.

Layer names (``nn.Sequential`` indices, the same as ``nmpkit.zoo.mnist_net``):
``0`` Conv2d(1, 20, 3), ``1`` ReLU, ``2`` Conv2d(20, 50, 5), ``3`` ReLU, ``4`` Flatten,
``5`` Linear(24200, 500), ``6`` ReLU, ``7`` Dropout(0.5), ``8`` Linear(500, 10).

Weights, in order of preference: ``--weights PATH`` (any state_dict whose tensors, in order,
have these shapes), the zoo's committed ``nmpkit/weights/mnist.pt`` (this checkout's), or one
epoch of training here (Adam 1e-3, L2 1e-4, batch 128, seed 0), cached under the cache
directory.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

DATASETS = Path(os.environ.get("NMPKIT_DATASETS", "/work/shared/datasets"))
ZOO_WEIGHTS = Path(__file__).resolve().parent.parent / "nmpkit" / "weights" / "mnist.pt"


def add_common_arguments(ap: argparse.ArgumentParser) -> None:
    """Options shared by bench/bench_cosim.py and bench/cosim_profile.py (data, weights, B, T)."""
    ap.add_argument("--data", type=Path, default=DATASETS / "mnist.npz",
                    help="MNIST .npz (x_train, y_train, x_test, y_test); default "
                         "$NMPKIT_DATASETS/mnist.npz, NMPKIT_DATASETS defaulting to "
                         "/work/shared/datasets")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/nmpkit-bench"))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--timesteps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)


def mnist_net() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 20, 3), nn.ReLU(), nn.Conv2d(20, 50, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(50 * 22 * 22, 500), nn.ReLU(), nn.Dropout(0.5), nn.Linear(500, 10))


def load_mnist(path: Path) -> dict[str, torch.Tensor]:
    with np.load(path) as d:
        out = {k: torch.from_numpy(d[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    for k in ("x_train", "x_test"):
        out[k] = (out[k].float() / 255.0).reshape(-1, 1, 28, 28)
    for k in ("y_train", "y_test"):
        out[k] = out[k].long()
    return out


def load_state(model: nn.Module, path: Path) -> None:
    """Load a state_dict by tensor order and shape (names may differ)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state:
        state = state["state_dict"]
    src = [v for v in state.values() if torch.is_tensor(v) and v.is_floating_point()]
    dst = list(model.state_dict().items())
    if len(src) != len(dst) or any(s.shape != d.shape for s, (_, d) in zip(src, dst)):
        raise SystemExit(f"{path}: tensors {[tuple(s.shape) for s in src]} do not match the "
                         f"network's {[tuple(d.shape) for _, d in dst]}")
    model.load_state_dict({k: s for (k, _), s in zip(dst, src)})


def train_one_epoch(data: dict[str, torch.Tensor], seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    model = mnist_net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(data["x_train"].shape[0], generator=g)
    model.train()
    t0 = time.perf_counter()
    for i in range(0, order.numel(), 128):
        idx = order[i:i + 128]
        loss = nn.functional.cross_entropy(model(data["x_train"][idx]), data["y_train"][idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"trained 1 epoch in {time.perf_counter() - t0:.0f} s (final batch loss "
          f"{float(loss):.3f})")
    return model.eval()


def get_model(data: dict[str, torch.Tensor], weights: Path | None,
              cache_dir: Path) -> tuple[nn.Sequential, str]:
    model = mnist_net()
    if weights is not None:
        load_state(model, weights)
        return model.eval(), str(weights)
    if ZOO_WEIGHTS.exists():
        load_state(model, ZOO_WEIGHTS)
        return model.eval(), "nmpkit/weights/mnist.pt"
    cached = cache_dir / "mnist_1epoch_seed0.pt"
    if cached.exists():
        load_state(model, cached)
        return model.eval(), f"{cached} (1 epoch, trained by the bench)"
    model = train_one_epoch(data)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(cached)
    return model, f"{cached} (1 epoch, trained now)"
