"""Compiled CPU kernels for the engine's hot loops (built on first use; torch fallback if not).

Three loops, each the plain arithmetic of the step loop in another order of work:

- ``if_block``: the IF update of one layer for a block of steps, fused (one pass per step
  instead of four), sample by sample so each sample's membrane stays in cache across steps;
  also accumulates spike counts and returns the number of spikes.
- ``sparse_conv``: event-driven Conv2d (groups = 1) on channels-last input, output-stationary:
  list the non-zero inputs of each input pixel once, then for each output pixel add the weight
  vectors ``w[ky, kx, c, :]`` of the active inputs in its receptive field (16 output channels
  at a time, in registers). Work ∝ spikes × fan-out; no zero is ever multiplied.
- ``sparse_linear``: for each non-zero input, add its weight row into the rows where it fired
  (event-major, so each weight row is read from memory once per call).

Built with ``torch.utils.cpp_extension.load_inline`` (gcc + ninja, a few tens of seconds once,
then cached by torch). ``NMPKIT_COSIM_KERNELS=0`` disables them; if the build fails the engine
runs its pure-torch schedules and says so in ``SimulationResult.schedule``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>

typedef float v16 __attribute__((vector_size(64)));

template <bool THV, bool FLOOR, bool FLV, bool ZERO>
static int64_t if_rows(const float* X, bool cst, float* V, float* S, float* C, const float* TH,
                       const float* FL, int64_t tb, int64_t b, int64_t n, int64_t i0,
                       int64_t i1) {
  int64_t nspk = 0;
  for (int64_t i = i0; i < i1; ++i) {
    float* __restrict vi = V + i * n;
    float* __restrict ci = C + i * n;
    for (int64_t t = 0; t < tb; ++t) {
      const float* __restrict x = cst ? X + i * n : X + (t * b + i) * n;
      float* __restrict s = S + (t * b + i) * n;
      int32_t tot = 0;
      for (int64_t j = 0; j < n; ++j) {
        const float thj = THV ? TH[j] : TH[0];
        float vv = vi[j] + x[j];
        const bool fire = vv >= thj;
        if (ZERO) vv = fire ? 0.f : vv;
        else vv = fire ? vv - thj : vv;
        if (FLOOR) { const float f = FLV ? FL[j] : FL[0]; vv = vv < f ? f : vv; }
        vi[j] = vv;
        s[j] = fire ? 1.f : 0.f;
        ci[j] += fire ? 1.f : 0.f;
        tot += fire;
      }
      nspk += tot;
    }
  }
  return nspk;
}

int64_t if_block(const at::Tensor& cur, bool cst, at::Tensor v, at::Tensor spikes,
                 at::Tensor counts, const at::Tensor& th, const at::Tensor& fl, bool has_floor,
                 bool reset_zero) {
  const int64_t tb = spikes.size(0), b = v.size(0), n = v.numel() / b;
  const float* X = cur.data_ptr<float>();
  float* V = v.data_ptr<float>();
  float* S = spikes.data_ptr<float>();
  float* C = counts.data_ptr<float>();
  const float* TH = th.data_ptr<float>();
  const float* FL = fl.data_ptr<float>();
  const int key = (th.numel() > 1) * 8 + has_floor * 4 + (fl.numel() > 1) * 2 + reset_zero;
  std::vector<int64_t> per(b, 0);
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    int64_t k = 0;
#define NMP_IF(a, f, g, z) case a * 8 + f * 4 + g * 2 + z: \
    k = if_rows<a, f, g, z>(X, cst, V, S, C, TH, FL, tb, b, n, i0, i1); break;
    switch (key) {
      NMP_IF(0, 0, 0, 0) NMP_IF(0, 0, 0, 1) NMP_IF(0, 0, 1, 0) NMP_IF(0, 0, 1, 1)
      NMP_IF(0, 1, 0, 0) NMP_IF(0, 1, 0, 1) NMP_IF(0, 1, 1, 0) NMP_IF(0, 1, 1, 1)
      NMP_IF(1, 0, 0, 0) NMP_IF(1, 0, 0, 1) NMP_IF(1, 0, 1, 0) NMP_IF(1, 0, 1, 1)
      NMP_IF(1, 1, 0, 0) NMP_IF(1, 1, 0, 1) NMP_IF(1, 1, 1, 0) NMP_IF(1, 1, 1, 1)
    }
#undef NMP_IF
    per[i0] = k;
  });
  int64_t total = 0;
  for (auto p : per) total += p;
  return total;
}

at::Tensor sparse_conv(const at::Tensor& x, const at::Tensor& wp, const at::Tensor& bias,
                       int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                       int64_t OH, int64_t OW, int64_t O) {
  // Output-stationary: for each output pixel, sum the weight vectors of the active inputs in
  // its receptive field, 16 output channels at a time in registers.
  // x: (R, H, W, C) channels-last; wp: (KH, KW, C, OP), OP = O padded to a multiple of 16.
  const int64_t R = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t KH = wp.size(0), KW = wp.size(1), OP = wp.size(3);
  auto out = at::empty({R, OH, OW, O}, x.options());
  const float* X = x.data_ptr<float>();
  const float* WP = wp.data_ptr<float>();
  const float* BI = bias.numel() ? bias.data_ptr<float>() : nullptr;
  float* Y = out.data_ptr<float>();
  at::parallel_for(0, R, 1, [&](int64_t r0, int64_t r1) {
    std::vector<int32_t> start(H * W + 1), ch(H * W * C);
    std::vector<float> val(H * W * C);
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = X + r * H * W * C;
      int32_t m = 0;  // CSR over input pixels: the channels that are non-zero
      for (int64_t p = 0; p < H * W; ++p) {
        start[p] = m;
        for (int64_t c = 0; c < C; ++c) {
          const float v = xr[p * C + c];
          if (v != 0.f) { ch[m] = (int32_t)c; val[m++] = v; }
        }
      }
      start[H * W] = m;
      float* y = Y + r * OH * OW * O;
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox)
          for (int64_t o0 = 0; o0 < OP; o0 += 64) {  // up to 4 × 16 channels per pass
            const int nv = (int)std::min<int64_t>(4, (OP - o0) / 16);
            v16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
            for (int64_t ky = 0; ky < KH; ++ky) {
              const int64_t iy = oy * sh - ph + ky * dh;
              if (iy < 0 || iy >= H) continue;
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t ix = ox * sw - pw + kx * dw;
                if (ix < 0 || ix >= W) continue;
                const int64_t p = iy * W + ix;
                const float* wk = WP + (ky * KW + kx) * C * OP + o0;
                for (int32_t e = start[p]; e < start[p + 1]; ++e) {
                  const float* w = wk + (int64_t)ch[e] * OP;
                  const float v = val[e];
                  v16 w0, w1, w2, w3;
                  __builtin_memcpy(&w0, w, 64);
                  if (nv > 1) __builtin_memcpy(&w1, w + 16, 64);
                  if (nv > 2) __builtin_memcpy(&w2, w + 32, 64);
                  if (nv > 3) __builtin_memcpy(&w3, w + 48, 64);
                  if (v == 1.f) {
                    a0 += w0; if (nv > 1) a1 += w1; if (nv > 2) a2 += w2; if (nv > 3) a3 += w3;
                  } else {
                    a0 += v * w0; if (nv > 1) a1 += v * w1;
                    if (nv > 2) a2 += v * w2; if (nv > 3) a3 += v * w3;
                  }
                }
              }
            }
            float tmp[64];
            __builtin_memcpy(tmp, &a0, 64); __builtin_memcpy(tmp + 16, &a1, 64);
            __builtin_memcpy(tmp + 32, &a2, 64); __builtin_memcpy(tmp + 48, &a3, 64);
            float* yo = y + (oy * OW + ox) * O + o0;
            const int64_t len = std::min<int64_t>(64, O - o0);
            for (int64_t q = 0; q < len; ++q) yo[q] = tmp[q] + (BI ? BI[o0 + q] : 0.f);
          }
    }
  });
  return out;
}

at::Tensor sparse_linear(const at::Tensor& x, const at::Tensor& wt, const at::Tensor& bias) {
  // x: (R, N); wt: (N, O); returns (R, O). Event-major: each weight row is read once per
  // call and added into every row where its input fired; threads split the output columns.
  const int64_t R = x.size(0), N = x.size(1), O = wt.size(1);
  auto out = at::empty({R, O}, x.options());
  const float* X = x.data_ptr<float>();
  const float* WT = wt.data_ptr<float>();
  const float* BI = bias.numel() ? bias.data_ptr<float>() : nullptr;
  float* Y = out.data_ptr<float>();
  // CSC lists of the non-zero inputs: for each input j, the rows (and values) where it fired.
  // Threads scan row ranges into their own lists; a counting sort by j merges them, keeping
  // rows ascending within each j.
  const int64_t nth = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), R));
  std::vector<std::vector<int32_t>> pj(nth), pr(nth);
  std::vector<std::vector<float>> pv(nth);
  at::parallel_for(0, nth, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ra = R * t / nth, rb = R * (t + 1) / nth;
      for (int64_t r = ra; r < rb; ++r) {
        const float* xr = X + r * N;
        for (int64_t j = 0; j < N; ++j)
          if (xr[j] != 0.f) { pj[t].push_back((int32_t)j); pr[t].push_back((int32_t)r);
                              pv[t].push_back(xr[j]); }
      }
    }
  });
  std::vector<int64_t> cnt(N + 1, 0);
  for (int64_t t = 0; t < nth; ++t) for (auto j : pj[t]) cnt[j + 1] += 1;
  for (int64_t j = 0; j < N; ++j) cnt[j + 1] += cnt[j];
  std::vector<int64_t> pos(cnt.begin(), cnt.end() - 1);
  std::vector<int32_t> rows(cnt[N]);
  std::vector<float> vals(cnt[N]);
  for (int64_t t = 0; t < nth; ++t)  // thread t's rows all precede thread t+1's
    for (size_t e = 0; e < pj[t].size(); ++e) {
      const int64_t q = pos[pj[t][e]]++;
      rows[q] = pr[t][e]; vals[q] = pv[t][e];
    }
  const int64_t blk = 64;
  at::parallel_for(0, (O + blk - 1) / blk, 1, [&](int64_t q0, int64_t q1) {
    const int64_t o0 = q0 * blk, o1 = std::min(O, q1 * blk);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t o = o0; o < o1; ++o) Y[r * O + o] = BI ? BI[o] : 0.f;
    for (int64_t j = 0; j < N; ++j) {
      const float* __restrict w = WT + j * O;
      for (int64_t e = cnt[j]; e < cnt[j + 1]; ++e) {
        float* __restrict y = Y + (int64_t)rows[e] * O;
        const float val = vals[e];
        if (val == 1.f) { for (int64_t o = o0; o < o1; ++o) y[o] += w[o]; }
        else { for (int64_t o = o0; o < o1; ++o) y[o] += val * w[o]; }
      }
    }
  });
  return out;
}
"""

_FUNCTIONS = ["if_block", "sparse_conv", "sparse_linear"]
_STATE: dict[str, object] = {}


def load() -> object | None:
    """The compiled module, or None (disabled, or the build failed: see ``status()``)."""
    if "module" in _STATE:
        return _STATE["module"]
    module = None
    if os.environ.get("NMPKIT_COSIM_KERNELS", "1") == "0":
        _STATE["status"] = "disabled by NMPKIT_COSIM_KERNELS=0"
    else:
        try:
            from torch.utils.cpp_extension import load_inline

            lib = Path(torch.__file__).parent / "lib"
            module = load_inline(
                name=f"nmpkit_cosim_kernels_v6_{_cpu_tag()}", cpp_sources=_SOURCE,
                functions=_FUNCTIONS,
                extra_cflags=["-O3", "-march=native", "-fopenmp", "-ffp-contract=off"],
                extra_ldflags=[f"-L{lib}", "-l:libgomp.so.1", f"-Wl,-rpath,{lib}"],
                verbose=False)
            _STATE["status"] = "compiled kernels"
        except Exception as err:  # no compiler/ninja: the torch schedules still work
            _STATE["status"] = f"torch only (kernel build failed: {type(err).__name__}: " \
                               f"{str(err).splitlines()[0] if str(err) else ''})"
    _STATE["module"] = module
    return module


def _cpu_tag() -> str:
    """Short hash of the CPU's feature flags: -march=native builds must not be shared."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    except OSError:
        import platform

        flags = platform.machine() + platform.processor()
    return hashlib.sha1(flags.encode()).hexdigest()[:8]


def status() -> str:
    load()
    return str(_STATE["status"])


__all__ = ["load", "status"]
