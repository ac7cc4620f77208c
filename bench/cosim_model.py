"""The benchmark's MNIST network (the zoo's ``nmpkit.ml.architectures.mnist_net``,
20C3-50C5-FC500-FC10), its data (read by ``nmpkit.ml.data``) and its weights.

Layer names (``nn.Sequential`` indices, the same as ``nmpkit.ml.architectures.mnist_net``):
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

import torch
from torch import nn

from calib.io import atomic_write
from nmpkit.ml.architectures import mnist_net

ZOO_WEIGHTS = Path(__file__).resolve().parent.parent / "nmpkit" / "weights" / "mnist.pt"


def add_common_arguments(ap: argparse.ArgumentParser) -> None:
    """Options shared by bench/bench_cosim.py and bench/cosim_profile.py (data, weights, B, T)."""
    env = os.environ.get("NMPKIT_DATA")
    ap.add_argument("--data", type=Path, default=Path(env) / "mnist.npz" if env else None,
                    help="MNIST as .npz (default: $NMPKIT_DATA/mnist.npz)")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/nmpkit-bench"))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--timesteps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)


def load_mnist(path: Path | None) -> dict[str, torch.Tensor]:
    """MNIST from ``path`` (any layout `nmpkit.ml.data.load_dataset` reads) as the zoo's network
    takes it: float32 (N, 1, 28, 28) in [0, 1] (its mean 0, std 1) and int64 labels."""
    from nmpkit.ml.data import load_dataset, to_tensor

    if path is None:
        raise SystemExit("bench: no MNIST file: pass --data FILE.npz or set NMPKIT_DATA")
    d = load_dataset("mnist", path)
    return {"x_train": to_tensor(d.x_train, (0.0,), (1.0,)),
            "y_train": torch.from_numpy(d.y_train), "x_test": to_tensor(d.x_test, (0.0,), (1.0,)),
            "y_test": torch.from_numpy(d.y_test)}


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
    atomic_write(cached, lambda tmp: torch.save(model.state_dict(), tmp))
    return model, f"{cached} (1 epoch, trained now)"
