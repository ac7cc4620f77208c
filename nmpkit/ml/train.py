"""Training a zoo network with its recipe: deterministic, resumable, with provenance.

Every batch draws its randomness (shuffle order, augmentation, dropout) from seeds derived from
(seed, epoch, batch), so a run killed mid-epoch and resumed from its checkpoint takes exactly the
steps an uninterrupted run would have taken. Weights are written as a plain ``state_dict``
(loadable with ``torch.load(..., weights_only=True)``) plus a JSON sidecar of provenance.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from calib.io import atomic_write_json, provenance
from nmpkit.errors import ConfigError
from nmpkit.ml.checkpoint import read_checkpoint, torch_save, write_checkpoint
from nmpkit.ml.data import Dataset, to_tensor
from nmpkit.ml.device import device_description, resolve_device
from nmpkit.ml.recipe import batch_seed, learning_rate, make_optimizer
from nmpkit.ml.zoo import NetworkSpec, get_network


def save_weights(model: nn.Module, path: str | Path, meta: dict, *, half: bool = False) -> Path:
    """Write ``model``'s state_dict to ``path`` (float16 if ``half``), ``meta`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }
    torch_save(sd, path)
    atomic_write_json(path.with_suffix(".json"),
                      {**meta, "dtype": "float16" if half else "float32"})
    return path


def load_weights(network: str | NetworkSpec, path: str | Path) -> nn.Module:
    """Build ``network``, load float32 weights from ``path`` (``weights_only=True``); eval mode."""
    spec = get_network(network) if isinstance(network, str) else network
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"weights file {str(path)!r} not found")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors on a corrupt file
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: not a torch state_dict file ({why})") from exc
    if not isinstance(sd, dict):
        raise ConfigError(
            f"{path}: expected a state_dict (dict of tensors), got {type(sd).__name__}"
        )
    model = spec.build()
    from cosim._convert_checks import check_state_dict
    from cosim.errors import ConversionError

    try:  # keys, shapes, float dtypes (an int64 file is refused, not cast), finite values
        check_state_dict(sd, model, where=f"{path}: weights do not fit network {spec.name!r}")
    except ConversionError as exc:
        raise ConfigError(str(exc)) from None
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    try:
        model.load_state_dict(sd)
    except RuntimeError as exc:
        raise ConfigError(
            f"{path}: weights do not fit network {spec.name!r}: "
            f"{str(exc).splitlines()[0]} {str(exc).splitlines()[1:2]}"
        ) from exc
    return model.eval()


def augment_crop_flip(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after zero padding by ``pad`` and random horizontal flip. x: (B, C, H, W).

    The draws come from ``gen`` (a CPU generator) whatever ``x``'s device, so a batch is
    augmented identically on CPU and GPU; the crop is one gather, not a loop over samples.
    """
    b, c, h, w = x.shape
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    flip = torch.rand(b, generator=gen) < 0.5
    dev = x.device
    rows = (dy.view(b, 1) + torch.arange(h)).to(dev).view(b, 1, h, 1)
    cols = (dx.view(b, 1) + torch.arange(w)).to(dev).view(b, 1, 1, w)
    bi = torch.arange(b, device=dev).view(b, 1, 1, 1)
    ci = torch.arange(c, device=dev).view(1, c, 1, 1)
    out = padded[bi, ci, rows, cols]
    return torch.where(flip.to(dev).view(b, 1, 1, 1), out.flip(3), out)


@torch.no_grad()
def evaluate_ann(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, *, batch_size: int = 500
) -> float:
    """Accuracy (``y`` = labels) or MSE against the input (``y`` None) of the ANN in eval mode."""
    model.eval()
    dev = next(model.parameters(), torch.empty(0)).device
    correct, se = 0, 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(dev).float()
        out = model(xb).float()
        if y is None:
            se += float(((out - xb) ** 2).sum(dtype=torch.float64))
        else:
            correct += int((out.argmax(1) == y[i : i + batch_size].to(dev)).sum())
    return se / x.numel() if y is None else correct / len(x)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """Run options on top of the network's recipe."""

    epochs: int
    seed: int = 0
    train_limit: int | None = None  # use the first N training samples
    eval_limit: int | None = None  # evaluate on the first N test samples
    half: bool = False  # store float16 weights
    checkpoint_seconds: float = 300.0  # mid-epoch checkpoint interval
    resume: bool = False
    command_line: str = ""  # recorded in the sidecar
    max_batches: int | None = None  # stop after this many batches in all (schedule unchanged)
    device: str = "cpu"  # where to train ("cuda", "cuda:1", ...)
    amp: bool = False  # bfloat16 autocast for forward and loss (weights, optimizer stay fp32)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs!r}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed!r}")
        if not self.checkpoint_seconds >= 0:  # NaN too; 0 = after every batch
            raise ConfigError(f"checkpoint_seconds must be a number >= 0, got "
                              f"{self.checkpoint_seconds!r}")
        resolve_device(self.device)
        for f in ("train_limit", "eval_limit", "max_batches"):
            v = getattr(self, f)
            if v is not None and v < 1:
                raise ConfigError(f"{f} must be >= 1, got {v!r}")


def _final_interval(history: list[dict], n_test: int) -> dict:
    """The last epoch's test accuracy as a count with its 95% Wilson interval (classifiers)."""
    from nmpkit.studies.stats import proportion

    if not history or "test_accuracy" not in history[-1] or n_test < 1:
        return {}
    p = proportion(round(history[-1]["test_accuracy"] * n_test), n_test)
    return {"test_accuracy": {"correct": p.k, "samples": p.n, "accuracy": p.estimate,
                              "ci95": [p.ci_low, p.ci_high], "interval": "Wilson score"}}


def train(
    spec: NetworkSpec,
    data: Dataset,
    out: str | Path,
    cfg: TrainConfig,
    *,
    on_batch: Callable[[int, int, float], None] | None = None,
    on_epoch_start: Callable[[int, int], None] | None = None,
) -> dict:
    """Train ``spec`` on ``data`` with its recipe; write weights + sidecar to ``out`` every epoch.

    ``on_batch(epoch, batch, loss)`` / ``on_epoch_start(epoch, n_batches)`` drive a progress bar.
    A checkpoint ``out.ckpt`` is written every ``cfg.checkpoint_seconds`` and at each epoch's end;
    with ``cfg.resume`` training continues from it. Returns the sidecar's content.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt_path = out.with_name(out.name + ".ckpt")
    recipe = spec.recipe
    dev = resolve_device(cfg.device)
    mean, std = spec.norm_for(data.name)
    x_train = to_tensor(data.x_train[: cfg.train_limit], mean, std).to(dev)
    y_train = torch.from_numpy(data.y_train[: cfg.train_limit]).long().to(dev)
    x_test = to_tensor(data.x_test[: cfg.eval_limit], mean, std)
    y_test = torch.from_numpy(data.y_test[: cfg.eval_limit]).long()
    target_is_input = spec.task == "reconstruct"

    torch.manual_seed(cfg.seed)
    model = spec.build().to(dev)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(recipe, model.parameters())
    loss_fn = nn.MSELoss() if recipe.loss == "mse" else nn.CrossEntropyLoss()
    n = len(x_train)
    per_epoch = math.ceil(n / recipe.batch_size)
    total = per_epoch * cfg.epochs
    epoch0, batch0, history, elapsed0 = 0, 0, [], 0.0
    if cfg.resume and ckpt_path.is_file():
        ck = read_checkpoint(ckpt_path, network=spec.name, seed=cfg.seed, n_train=n)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        epoch0, batch0 = int(ck["epoch"]), int(ck["batch"])
        history, elapsed0 = json.loads(ck["history"]), float(ck["elapsed_s"])

    def meta(epochs_done: int, batches_done: int) -> dict:
        return {
            **_final_interval(history, len(x_test)),
            "network": spec.name,
            "dataset": data.name,
            "data_source": data.source,
            "recipe": asdict(recipe),
            "epochs_planned": cfg.epochs,
            "epochs_done": epochs_done,
            "batches_done": batches_done,
            "batches_per_epoch": per_epoch,
            "seed": cfg.seed,
            "train_samples": n,
            "eval_samples": len(x_test),
            "history": history,
            "train_seconds": round(elapsed0 + time.monotonic() - t0, 1),
            "command_line": cfg.command_line,
            "device": device_description(dev),
            "amp": "bfloat16 autocast" if cfg.amp else "off (float32)",
            "provenance": provenance(command="nmpkit train"),
        }

    def checkpoint(epoch: int, batch: int) -> None:
        write_checkpoint(ckpt_path, network=spec.name, seed=cfg.seed, n_train=n, epoch=epoch,
                         batch=batch, model=model.state_dict(), optimizer=opt.state_dict(),
                         history=json.dumps(history),
                         elapsed_s=elapsed0 + time.monotonic() - t0)

    t0 = time.monotonic()
    last_ck = t0
    for epoch in range(epoch0, cfg.epochs):
        perm = torch.randperm(
            n, generator=torch.Generator().manual_seed(batch_seed(cfg.seed, epoch, -1))
        )
        if on_epoch_start:
            on_epoch_start(epoch, per_epoch)
        model.train()
        run_loss_t, run_n, last_loss = torch.zeros((), dtype=torch.float64, device=dev), 0, 0.0
        stop_at = None
        for b in range(batch0 if epoch == epoch0 else 0, per_epoch):
            if cfg.max_batches is not None and epoch * per_epoch + b >= cfg.max_batches:
                stop_at = b
                break
            s = batch_seed(cfg.seed, epoch, b)
            torch.manual_seed(s)  # dropout
            idx = perm[b * recipe.batch_size : (b + 1) * recipe.batch_size].to(dev)
            xb = x_train[idx]
            if recipe.augment == "crop_flip":
                xb = augment_crop_flip(xb, torch.Generator().manual_seed(s))
            for g in opt.param_groups:
                g["lr"] = learning_rate(recipe, epoch * per_epoch + b, total)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.amp):
                outb = model(xb)
                loss = loss_fn(outb.float(), xb if target_is_input else y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run_loss_t += loss.detach().double() * len(idx)
            run_n += len(idx)
            if on_batch:  # reading the loss waits for the GPU: on CUDA only every 50 batches
                if dev.type == "cpu" or b % 50 == 0 or b == per_epoch - 1:
                    last_loss = loss.item()
                on_batch(epoch, b, last_loss)
            if time.monotonic() - last_ck > cfg.checkpoint_seconds:
                checkpoint(epoch, b + 1)
                last_ck = time.monotonic()
        run_loss = float(run_loss_t)
        metric = evaluate_ann(model, x_test, None if target_is_input else y_test)
        if stop_at is not None:  # budget spent mid-epoch: weights as they are, resumable
            history.append(
                {
                    "epoch": round(epoch + stop_at / per_epoch, 4),
                    "stopped_at_batch": epoch * per_epoch + stop_at,
                    "train_loss_partial_mean": run_loss / run_n if run_n else None,
                    ("test_mse" if target_is_input else "test_accuracy"): metric,
                }
            )
            save_weights(model, out, meta(epoch, epoch * per_epoch + stop_at), half=cfg.half)
            checkpoint(epoch, stop_at)
            break
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss_partial_mean": run_loss / max(run_n, 1),
                ("test_mse" if target_is_input else "test_accuracy"): metric,
            }
        )
        save_weights(model, out, meta(epoch + 1, (epoch + 1) * per_epoch), half=cfg.half)
        checkpoint(epoch + 1, 0)
        last_ck = time.monotonic()
    if cfg.epochs <= epoch0:  # nothing left to do: still (re)write the weights from the checkpoint
        save_weights(model, out, meta(epoch0, epoch0 * per_epoch), half=cfg.half)
    return json.loads(out.with_suffix(".json").read_text())


__all__ = [
    "TrainConfig",
    "augment_crop_flip",
    "evaluate_ann",
    "load_weights",
    "save_weights",
    "train",
]
