"""The event-driven Conv2d for CUDA devices, in Triton: work ∝ spikes × fan-out, not pixels.

On the CPU the compiled kernels (``cosim.kernels``) run every event-driven layer; on a CUDA
device the engine had only torch's ops: Linear is event-driven there already (``embedding_bag``
over the active indices, ``cosim.schedule``), but Conv2d ran dense (cuDNN) whatever the firing
rate. ``event_conv2d`` scatters every spike's weights into the outputs it reaches:

* the spikes' nonzero entries are listed once per call (``torch.nonzero``: one event = one
  (row, y, x, c) of the channels-last input, ``cosim.schedule``'s physical layout);
* one Triton program per (event, kernel tap, block of output channels) finds the output pixel the
  tap reaches (stride, padding and dilation as in ``torch.nn.functional.conv2d``; a tap that
  falls between strided outputs or outside the image does nothing) and adds the tap's weights
  ``w[ky, kx, c, :]`` (weight laid out (KH, KW, C, CO), output channels contiguous) times the
  event's value into the channels-last output with ``tl.atomic_add``;
* the output starts as the bias.

Exactness: atomic adds land in any order, so on arbitrary float weights the current can differ
from the CPU's in the last bits (a spike count then moves by ±1 on a few neurons, as between the
CPU's own schedules); on a dyadic grid (every partial sum exact) it equals ``F.conv2d`` and the
CPU kernels bit for bit, which is what the tests check.

Where it runs: ``usable(device)`` is True on a CUDA device with Triton importable, and on the CPU
only under Triton's interpreter (``TRITON_INTERPRET=1`` set before the first call, and
``CPU_INTERPRETER`` switched on by the caller): that is how the tests run these kernels on a
machine without a GPU. The interpreter executes the same kernel source program by program in
NumPy: it checks the indexing and the arithmetic, not the GPU's speed or its memory model.
"""

from __future__ import annotations

import os
from functools import lru_cache

import torch
from torch import Tensor

CPU_INTERPRETER = False
"""Let ``usable`` accept a CPU device when Triton's interpreter is on (tests only)."""

_BLOCK_O_MAX = 256


@lru_cache(maxsize=1)
def triton_version() -> str | None:
    """Triton's version, or None when it cannot be imported (imported once, on first ask)."""
    try:
        import triton
    except Exception:  # noqa: BLE001 - a broken install is "not available", not a crash
        return None
    return str(triton.__version__)


def interpreter_on() -> bool:
    return os.environ.get("TRITON_INTERPRET", "") == "1"


def usable(device: torch.device) -> bool:
    """Whether ``event_conv2d`` can run on ``device`` (module docstring). On the CPU, without
    the interpreter switched on, Triton is not even imported."""
    if device.type == "cpu":
        return CPU_INTERPRETER and interpreter_on() and triton_version() is not None
    return device.type == "cuda" and triton_version() is not None


def describe(device: torch.device) -> str:
    """What the engine records for the event-driven convolution on ``device``."""
    if not usable(device):
        return "none"
    mode = "interpreter (CPU)" if device.type == "cpu" else device.type
    return f"triton {triton_version()} {mode}"


@lru_cache(maxsize=1)
def _kernel():
    """The jitted scatter kernel (built on first use, so Triton reads its environment then)."""
    import triton
    import triton.language as tl

    @triton.jit
    def conv_scatter(ev_ptr, val_ptr, w_ptr, out_ptr, H, W, C, OH, OW, CO, KW, SH, SW, PH, PW,
                     DH, DW, BLOCK_O: tl.constexpr):
        e = tl.program_id(0)
        tap = tl.program_id(1)
        ob = tl.program_id(2)
        idx = tl.load(ev_ptr + e)
        val = tl.load(val_ptr + e)
        c = idx % C
        rest = idx // C
        ix = rest % W
        rest = rest // W
        iy = rest % H
        r = rest // H
        ky = tap // KW
        kx = tap % KW
        ny = iy + PH - ky * DH
        nx = ix + PW - kx * DW
        inside = (ny >= 0) & (nx >= 0)
        ny = tl.where(inside, ny, 0)
        nx = tl.where(inside, nx, 0)
        oy = ny // SH
        ox = nx // SW
        hit = inside & (oy * SH == ny) & (ox * SW == nx) & (oy < OH) & (ox < OW)
        offs = ob * BLOCK_O + tl.arange(0, BLOCK_O)
        m = offs < tl.where(hit, CO, 0)  # a tap that reaches no output adds nothing
        wv = tl.load(w_ptr + (tap * C + c) * CO + offs, mask=m, other=0.0)
        base = ((r * OH + oy) * OW + ox) * CO
        tl.atomic_add(out_ptr + base + offs, wv * val, mask=m)

    return conv_scatter


def conv_layout(weight: Tensor) -> Tensor:
    """(CO, C, KH, KW) → contiguous (KH, KW, C, CO): a tap's output channels side by side."""
    return weight.permute(2, 3, 1, 0).contiguous()


def event_conv2d(x: Tensor, w_t: Tensor, bias: Tensor | None, *, stride: tuple[int, int],
                 padding: tuple[int, int], dilation: tuple[int, int],
                 out_hw: tuple[int, int]) -> Tensor:
    """Conv2d (groups = 1) of channels-last ``x`` (R, H, W, C) with ``w_t`` = ``conv_layout(w)``
    (KH, KW, C, CO), event by event; returns the channels-last (R, OH, OW, CO) current."""
    if x.dim() != 4 or w_t.dim() != 4 or x.shape[3] != w_t.shape[2]:
        raise ValueError(f"event_conv2d needs x (R, H, W, C) and weights (KH, KW, C, CO) with "
                         f"the same C, got {tuple(x.shape)} and {tuple(w_t.shape)}")
    R, H, W, C = x.shape
    KH, KW, _, CO = w_t.shape
    OH, OW = out_hw
    out = torch.zeros((R, OH, OW, CO), dtype=x.dtype, device=x.device)
    if bias is not None and bias.numel():
        out += bias.to(x.dtype)
    flat = x.reshape(-1)
    ev = flat.nonzero().squeeze(1)
    if ev.numel() == 0:
        return out
    vals = flat[ev].contiguous()
    block = min(_BLOCK_O_MAX, 1 << max(0, (CO - 1).bit_length()))
    grid = (ev.numel(), KH * KW, -(-CO // block))
    _kernel()[grid](ev, vals, w_t.contiguous(), out, H, W, C, OH, OW, CO, KW, stride[0],
                    stride[1], padding[0], padding[1], dilation[0], dilation[1], BLOCK_O=block)
    return out


__all__ = ["CPU_INTERPRETER", "conv_layout", "describe", "event_conv2d", "interpreter_on",
           "triton_version", "usable"]
