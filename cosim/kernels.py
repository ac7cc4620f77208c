"""Compiled CPU kernels for the engine's hot loops (built on first use; torch fallback if not).

Spikes travel between these kernels bit-packed: one row of a layer's spikes (one sample at one
step, ``n`` neurons in the engine's physical order) is ``ceil(n / 64)`` int64 words, bit ``j`` of
the row = neuron ``j`` fired (bits past ``n`` are zero). Each kernel is the plain arithmetic of the
step loop in another order of work:

- ``if_bits``: the IF update of one layer for a block of steps, sample by sample (its membrane
  stays in cache across the steps), 16 neurons at a time; writes the spike bits, accumulates
  the spike counts and, for the output layer, the per-step prediction (most spikes so far, ties
  to the highest membrane potential, then the lowest index).
- ``conv_if``: event-driven Conv2d (groups = 1) on spike bits fused with the next layer's IF
  update, sample by sample and step by step: for each output pixel, add the weight vectors
  ``w[ky, kx, c, :]`` of the active inputs in its receptive field (up to 64 output channels at
  a time in registers; with dilation 1 in x the KW taps of a kernel row are one contiguous run
  of input events), add the bias, and update the neurons of that pixel at once. The current
  never goes to memory. ``conv_cur`` is the same sum returning the current.
- ``linear_bits``: event-driven Linear: for each input that fired, add its weight row into the
  rows where it fired (event-major, so each weight row is read from memory once per call), 64
  output columns at a time, their sums for the whole block contiguous (in L2).
- ``pack_bits`` / ``unpack_bits``: dense 0/1 spikes to bits and back.

Summation order inside a current: the bias last for convolutions (sum over ky, kx, c ascending,
then + bias), first for Linear (bias, then inputs ascending): fixed by the data, not by threads
or blocks. On the dyadic grid of the tests every order gives the same bits.

Built with ``torch.utils.cpp_extension.load_inline`` (gcc + ninja, a few tens of seconds once,
then cached by torch under a name that hashes the source and the CPU's flags). AVX-512 paths
where the CPU has them, portable scalar code otherwise. ``NMPKIT_COSIM_KERNELS=0`` disables the
kernels, ``=generic`` builds the portable code only (for tests); if the build fails the engine
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
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(NMP_GENERIC)
#include <immintrin.h>
#define NMP_AVX512 1
#endif

typedef float v16 __attribute__((vector_size(64)));

// ---------------------------------------------------------------- IF neuron, 16 at a time
struct IFP {  // one layer's IF parameters; per-neuron arrays are indexed by physical index j
  const float* th; const float* fl;
  bool thv, flv, floor, zero;
};

static IFP make_ifp(const at::Tensor& th, const at::Tensor& fl, bool has_floor, bool zero) {
  TORCH_CHECK(th.is_contiguous() && fl.is_contiguous() && th.scalar_type() == at::kFloat &&
              fl.scalar_type() == at::kFloat, "threshold/floor must be contiguous float32");
  return IFP{th.data_ptr<float>(), fl.data_ptr<float>(), th.numel() > 1, fl.numel() > 1,
             has_floor, zero};
}

// Neurons j0 .. j0+len-1 (len <= 16) of one sample: v += x; fire = v >= th; reset; floor;
// counts += fire. Returns the fire mask (bit l = neuron j0 + l).
static inline uint32_t if16(const float* x, float* v, float* c, const IFP& p, int64_t j0,
                            int len) {
#ifdef NMP_AVX512
  const __mmask16 k = len >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << len) - 1u);
  const __m512 th = p.thv ? _mm512_maskz_loadu_ps(k, p.th + j0) : _mm512_set1_ps(p.th[0]);
  __m512 vv = _mm512_add_ps(_mm512_maskz_loadu_ps(k, v + j0), _mm512_maskz_loadu_ps(k, x));
  const __mmask16 f = _mm512_mask_cmp_ps_mask(k, vv, th, _CMP_GE_OQ);
  vv = p.zero ? _mm512_mask_mov_ps(vv, f, _mm512_setzero_ps())
              : _mm512_mask_sub_ps(vv, f, vv, th);
  if (p.floor) {
    const __m512 fl = p.flv ? _mm512_maskz_loadu_ps(k, p.fl + j0) : _mm512_set1_ps(p.fl[0]);
    vv = _mm512_mask_mov_ps(vv, _mm512_cmp_ps_mask(vv, fl, _CMP_LT_OQ), fl);
  }
  _mm512_mask_storeu_ps(v + j0, k, vv);
  const __m512 cv = _mm512_maskz_loadu_ps(k, c + j0);
  _mm512_mask_storeu_ps(c + j0, k, _mm512_mask_add_ps(cv, f, cv, _mm512_set1_ps(1.f)));
  return (uint32_t)f;
#else
  uint32_t m = 0;
  for (int l = 0; l < len; ++l) {
    const int64_t j = j0 + l;
    const float thj = p.thv ? p.th[j] : p.th[0];
    float vv = v[j] + x[l];
    const bool fire = vv >= thj;
    if (fire) vv = p.zero ? 0.f : vv - thj;
    if (p.floor) { const float f = p.flv ? p.fl[j] : p.fl[0]; vv = vv < f ? f : vv; }
    v[j] = vv;
    if (fire) c[j] += 1.f;
    m |= (uint32_t)fire << l;
  }
  return m;
#endif
}

static inline void or_bits(uint64_t* row, int64_t j0, uint64_t m) {
  if (!m) return;
  const int64_t w = j0 >> 6;
  const int s = (int)(j0 & 63);
  row[w] |= m << s;
  if (s && (m >> (64 - s))) row[w + 1] |= m >> (64 - s);
}

static inline int64_t n_words(int64_t n) { return (n + 63) / 64; }

// Output layer's prediction after a step: most spikes so far, ties to the highest membrane
// potential, then the lowest index (the order of torch.argmax on the same keys).
static inline int64_t readout(const float* c, const float* v, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k)
    if (c[k] > c[best] || (c[k] == c[best] && v[k] > v[best])) best = k;
  return best;
}

void if_bits(const at::Tensor& cur, bool cst, at::Tensor v, at::Tensor counts,
             const at::Tensor& th, const at::Tensor& fl, bool has_floor, bool reset_zero,
             at::Tensor bits, at::Tensor preds) {
  // cur: (tb, b, n) or, when cst, (b, n); v, counts: (b, n); bits: (tb * b, ceil(n / 64)),
  // row t * b + i; preds: empty, or an int16 (tb, b) view (strided) for the readout.
  const int64_t b = v.size(0), n = v.numel() / b, nw = n_words(n);
  const int64_t tb = bits.size(0) / b;
  TORCH_CHECK(cur.is_contiguous() && v.is_contiguous() && counts.is_contiguous() &&
              bits.is_contiguous() && bits.size(1) == nw, "if_bits: bad layout");
  const float* X = cur.data_ptr<float>();
  float* V = v.data_ptr<float>();
  float* C = counts.data_ptr<float>();
  uint64_t* B = (uint64_t*)bits.data_ptr<int64_t>();
  const IFP p = make_ifp(th, fl, has_floor, reset_zero);
  int16_t* P = preds.numel() ? preds.data_ptr<int16_t>() : nullptr;
  const int64_t ps0 = P ? preds.stride(0) : 0, ps1 = P ? preds.stride(1) : 0;
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* vi = V + i * n;
      float* ci = C + i * n;
      for (int64_t t = 0; t < tb; ++t) {
        const float* x = cst ? X + i * n : X + (t * b + i) * n;
        uint64_t* row = B + (t * b + i) * nw;
        for (int64_t w = 0; w < nw; ++w) {
          uint64_t m = 0;
          for (int64_t q = 0; q < 4; ++q) {
            const int64_t j0 = w * 64 + q * 16;
            if (j0 >= n) break;
            const int len = (int)std::min<int64_t>(16, n - j0);
            m |= (uint64_t)if16(x + j0, vi, ci, p, j0, len) << (q * 16);
          }
          row[w] = m;
        }
        if (P) P[t * ps0 + i * ps1] = (int16_t)readout(ci, vi, n);
      }
    }
  });
}

at::Tensor pack_bits(const at::Tensor& x) {
  // x: (R, n) float, non-zero = spike -> (R, ceil(n / 64)) int64
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous() && x.scalar_type() == at::kFloat,
              "pack_bits: (R, n) contiguous float32");
  const int64_t R = x.size(0), n = x.size(1), nw = n_words(n);
  auto out = at::empty({R, nw}, x.options().dtype(at::kLong));
  const float* X = x.data_ptr<float>();
  uint64_t* B = (uint64_t*)out.data_ptr<int64_t>();
  at::parallel_for(0, R, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t w = 0; w < nw; ++w) {
        uint64_t m = 0;
        const int64_t j1 = std::min<int64_t>(64, n - w * 64);
        for (int64_t q = 0; q < j1; ++q) m |= (uint64_t)(X[r * n + w * 64 + q] != 0.f) << q;
        B[r * nw + w] = m;
      }
  });
  return out;
}

at::Tensor unpack_bits(const at::Tensor& bits, int64_t n) {
  // (R, ceil(n / 64)) int64 -> (R, n) float 0/1
  const int64_t R = bits.size(0), nw = bits.size(1);
  TORCH_CHECK(bits.is_contiguous() && nw == n_words(n), "unpack_bits: bad layout");
  auto out = at::empty({R, n}, bits.options().dtype(at::kFloat));
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  float* Y = out.data_ptr<float>();
  at::parallel_for(0, R, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < n; ++j)
        Y[r * n + j] = (float)((B[r * nw + (j >> 6)] >> (j & 63)) & 1);
  });
  return out;
}

// ---------------------------------------------------------------- event-driven Conv2d
struct Geo {  // input (H, W, C) channels-last; weights (KH, KW, C, OP); output (OH, OW, O)
  int64_t H, W, C, KH, KW, OP, O, OH, OW, sh, sw, ph, pw, dh, dw;
};

static Geo make_geo(const at::Tensor& wp, const std::vector<int64_t>& a) {
  TORCH_CHECK(a.size() == 11, "conv geometry: H, W, sh, sw, ph, pw, dh, dw, OH, OW, O");
  TORCH_CHECK(wp.dim() == 4 && wp.is_contiguous() && wp.size(3) % 16 == 0, "conv weights");
  return Geo{a[0], a[1], wp.size(2), wp.size(0), wp.size(1), wp.size(3), a[10], a[8], a[9],
             a[2], a[3], a[4], a[5], a[6], a[7]};
}

// The events of one row: off[e] = j * OP for each spike j ascending (j = pixel * C + channel);
// starts[p] = index of the first event of input pixel p (p = 0 .. H * W).
static void row_events(const uint64_t* bits, const Geo& g, int64_t* off, int32_t* starts) {
  const int64_t HW = g.H * g.W, nw = n_words(HW * g.C);
  int32_t m = 0;
  for (int64_t k = 0; k < nw; ++k) {
    uint64_t w = bits[k];
    while (w) {
      off[m++] = (k * 64 + __builtin_ctzll(w)) * g.OP;
      w &= w - 1;
    }
  }
  int32_t acc = 0;
  int64_t kw = 0;
  for (int64_t p = 0; p <= HW; ++p) {
    const int64_t pos = p * g.C, k = pos >> 6;
    while (kw < k) acc += __builtin_popcountll(bits[kw++]);
    const int s = (int)(pos & 63);
    starts[p] = acc + (s ? __builtin_popcountll(bits[k] & ((1ull << s) - 1)) : 0);
  }
}

template <int NV>
static inline void add_events(v16* a, const float* WP, int64_t base, const int64_t* off,
                              int32_t e0, int32_t e1) {
  for (int32_t e = e0; e < e1; ++e) {
    const float* w = WP + (base + off[e]);
    for (int k = 0; k < NV; ++k) {
      v16 t;
      __builtin_memcpy(&t, w + 16 * k, 64);
      a[k] += t;
    }
  }
}

// One pass over output row oy for channels o0 .. o0 + 16 NV: acc[ox * 64 + q] = sum of the
// weights of the active inputs in the receptive field of (oy, ox), ky, kx, c ascending. Kernel
// row by kernel row (ky outer), so the weights in use (one kernel row) stay in L1; the row's
// partial sums wait in acc (L1).
template <int NV>
static void conv_pass(const float* WP, const int64_t* off, const int32_t* starts, const Geo& g,
                      int64_t oy, int64_t o0, float* acc) {
  for (int64_t q = 0; q < g.OW * 64; ++q) acc[q] = 0.f;
  for (int64_t ky = 0; ky < g.KH; ++ky) {
    const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
    if (iy < 0 || iy >= g.H) continue;
    for (int64_t ox = 0; ox < g.OW; ++ox) {
      v16 a[NV];
      for (int k = 0; k < NV; ++k) __builtin_memcpy(&a[k], acc + ox * 64 + 16 * k, 64);
      const int64_t x0 = ox * g.sw - g.pw;
      if (g.dw == 1) {  // taps kx = 0 .. KW-1 are input pixels x0 .. x0+KW-1: one run of events
        const int64_t xa = std::max<int64_t>(0, x0), xb = std::min<int64_t>(g.W, x0 + g.KW);
        if (xa < xb) {
          const int64_t base = (ky * g.KW * g.C - (iy * g.W + x0) * g.C) * g.OP + o0;
          add_events<NV>(a, WP, base, off, starts[iy * g.W + xa], starts[iy * g.W + xb]);
        }
      } else {
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const int64_t ix = x0 + kx * g.dw;
          if (ix < 0 || ix >= g.W) continue;
          const int64_t p = iy * g.W + ix;
          const int64_t base = ((ky * g.KW + kx) * g.C - p * g.C) * g.OP + o0;
          add_events<NV>(a, WP, base, off, starts[p], starts[p + 1]);
        }
      }
      for (int k = 0; k < NV; ++k) __builtin_memcpy(acc + ox * 64 + 16 * k, &a[k], 64);
    }
  }
}

// The current of output row oy: x[ox * O + o] = sum + bias[o]. acc: scratch of OW * 64 floats.
static void conv_out_row(const float* WP, const float* BI, const int64_t* off,
                         const int32_t* starts, const Geo& g, int64_t oy, float* x, float* acc) {
  for (int64_t o0 = 0; o0 < g.OP; o0 += 64) {
    switch ((int)std::min<int64_t>(4, (g.OP - o0) / 16)) {
      case 1: conv_pass<1>(WP, off, starts, g, oy, o0, acc); break;
      case 2: conv_pass<2>(WP, off, starts, g, oy, o0, acc); break;
      case 3: conv_pass<3>(WP, off, starts, g, oy, o0, acc); break;
      default: conv_pass<4>(WP, off, starts, g, oy, o0, acc); break;
    }
    const int64_t len = std::min<int64_t>(64, g.O - o0);
    for (int64_t ox = 0; ox < g.OW; ++ox)
      for (int64_t q = 0; q < len; ++q) x[ox * g.O + o0 + q] = acc[ox * 64 + q] + BI[o0 + q];
  }
}

struct ConvScratch {
  std::vector<int64_t> off;
  std::vector<int32_t> starts;
  std::vector<float> acc;
  explicit ConvScratch(const Geo& g)
      : off(g.H * g.W * g.C), starts(g.H * g.W + 1), acc(g.OW * 64) {}
};

at::Tensor conv_cur(const at::Tensor& bits, const at::Tensor& wp, const at::Tensor& bias,
                    const std::vector<int64_t>& geo) {
  // bits: (R, ceil(H W C / 64)); wp: (KH, KW, C, OP), OP = O padded to a multiple of 16;
  // bias: (OP,) zero-padded. Returns the current (R, OH, OW, O).
  const Geo g = make_geo(wp, geo);
  const int64_t R = bits.size(0), nw = bits.size(1);
  TORCH_CHECK(bits.is_contiguous() && nw == n_words(g.H * g.W * g.C), "conv_cur: bits");
  auto out = at::empty({R, g.OH, g.OW, g.O}, wp.options());
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  const float* WP = wp.data_ptr<float>();
  const float* BI = bias.data_ptr<float>();
  float* Y = out.data_ptr<float>();
  at::parallel_for(0, R, 1, [&](int64_t r0, int64_t r1) {
    ConvScratch s(g);
    for (int64_t r = r0; r < r1; ++r) {
      row_events(B + r * nw, g, s.off.data(), s.starts.data());
      for (int64_t oy = 0; oy < g.OH; ++oy)
        conv_out_row(WP, BI, s.off.data(), s.starts.data(), g, oy,
                     Y + (r * g.OH + oy) * g.OW * g.O, s.acc.data());
    }
  });
  return out;
}

void conv_if(const at::Tensor& bits, const at::Tensor& wp, const at::Tensor& bias,
             const std::vector<int64_t>& geo, at::Tensor v, at::Tensor counts,
             const at::Tensor& th, const at::Tensor& fl, bool has_floor, bool reset_zero,
             at::Tensor bits_out) {
  // Conv2d of the spikes in ``bits`` (rows t * b + i) fused with the IF update of the next
  // layer (v, counts: (b, OH OW O)); its spikes go to bits_out (rows t * b + i). Samples in
  // parallel, steps in order; each output row's current is used while in L1.
  const Geo g = make_geo(wp, geo);
  const int64_t b = v.size(0), n = v.numel() / b, nwi = bits.size(1), nwo = n_words(n);
  const int64_t tb = bits.size(0) / b, m = g.OW * g.O;
  TORCH_CHECK(n == g.OH * g.OW * g.O && nwi == n_words(g.H * g.W * g.C) &&
              bits.is_contiguous() && bits_out.is_contiguous() && bits_out.size(1) == nwo &&
              bits_out.size(0) == tb * b && v.is_contiguous() && counts.is_contiguous(),
              "conv_if: bad layout");
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  uint64_t* BO = (uint64_t*)bits_out.data_ptr<int64_t>();
  const float* WP = wp.data_ptr<float>();
  const float* BI = bias.data_ptr<float>();
  float* V = v.data_ptr<float>();
  float* C = counts.data_ptr<float>();
  const IFP p = make_ifp(th, fl, has_floor, reset_zero);
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    ConvScratch s(g);
    std::vector<float> x(m);
    for (int64_t i = i0; i < i1; ++i) {
      float* vi = V + i * n;
      float* ci = C + i * n;
      for (int64_t t = 0; t < tb; ++t) {
        row_events(B + (t * b + i) * nwi, g, s.off.data(), s.starts.data());
        uint64_t* row = BO + (t * b + i) * nwo;
        std::memset(row, 0, nwo * sizeof(uint64_t));
        for (int64_t oy = 0; oy < g.OH; ++oy) {
          conv_out_row(WP, BI, s.off.data(), s.starts.data(), g, oy, x.data(), s.acc.data());
          const int64_t j0 = oy * m;
          for (int64_t q = 0; q < m; q += 16) {
            const int l = (int)std::min<int64_t>(16, m - q);
            or_bits(row, j0 + q, if16(x.data() + q, vi, ci, p, j0 + q, l));
          }
        }
      }
    }
  });
}

// ---------------------------------------------------------------- event-driven Linear
// One block of 16 NV output columns: y (R, 16 NV) contiguous, so the block's sums stay in L2.
template <int NV>
static void linear_block(const float* WT, int64_t OP, const float* BI, int64_t o0,
                         const std::vector<int32_t>& active, const std::vector<int64_t>& cnt,
                         const std::vector<int32_t>& rows, int64_t R, float* y) {
  v16 b[NV];
  for (int k = 0; k < NV; ++k) __builtin_memcpy(&b[k], BI + o0 + 16 * k, 64);
  for (int64_t r = 0; r < R; ++r)
    for (int k = 0; k < NV; ++k) __builtin_memcpy(y + (r * NV + k) * 16, &b[k], 64);
  for (const int32_t j : active) {
    v16 w[NV];
    for (int k = 0; k < NV; ++k) __builtin_memcpy(&w[k], WT + (int64_t)j * OP + o0 + 16 * k, 64);
    const int64_t e1 = cnt[j + 1];
    for (int64_t e = cnt[j]; e < e1; ++e) {
      if (e + 8 < e1)
        for (int k = 0; k < NV; ++k) __builtin_prefetch(y + ((int64_t)rows[e + 8] * NV + k) * 16, 1);
      float* yr = y + (int64_t)rows[e] * NV * 16;
      for (int k = 0; k < NV; ++k) {
        v16 a;
        __builtin_memcpy(&a, yr + 16 * k, 64);
        a += w[k];
        __builtin_memcpy(yr + 16 * k, &a, 64);
      }
    }
  }
}

at::Tensor linear_bits(const at::Tensor& bits, const at::Tensor& wt, const at::Tensor& bias,
                       int64_t O) {
  // bits: (R, ceil(N / 64)); wt: (N, OP), the transposed weight with O columns zero-padded to a
  // multiple of 16; bias: (OP,) zero-padded. Returns (R, O) = bias + the weight rows of the
  // inputs that fired, ascending. Event-major: each weight row is read once per call and added
  // into every row where its input fired; threads split blocks of 64 output columns.
  const int64_t R = bits.size(0), nw = bits.size(1), N = wt.size(0), OP = wt.size(1);
  TORCH_CHECK(bits.is_contiguous() && wt.is_contiguous() && bias.is_contiguous() &&
              nw == n_words(N) && OP % 16 == 0 && bias.numel() == OP && O <= OP,
              "linear_bits: bad layout");
  auto out = at::empty({R, O}, wt.options());
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  const float* WT = wt.data_ptr<float>();
  const float* BI = bias.data_ptr<float>();
  float* Y = out.data_ptr<float>();
  // CSC lists: for each input j, the rows where it fired (ascending): count, prefix-sum, fill.
  // Threads split the inputs (by words of the rows' bits), each covering all rows.
  std::vector<int64_t> cnt(N + 1, 0);
  at::parallel_for(0, nw, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = k0; k < k1; ++k)
        for (uint64_t w = B[r * nw + k]; w; w &= w - 1) cnt[k * 64 + __builtin_ctzll(w) + 1] += 1;
  });
  for (int64_t j = 0; j < N; ++j) cnt[j + 1] += cnt[j];
  std::vector<int32_t> rows(cnt[N]);
  at::parallel_for(0, nw, 1, [&](int64_t k0, int64_t k1) {
    std::vector<int64_t> pos(cnt.begin() + k0 * 64, cnt.begin() + std::min(N, k1 * 64));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = k0; k < k1; ++k)
        for (uint64_t w = B[r * nw + k]; w; w &= w - 1)
          rows[pos[(k - k0) * 64 + __builtin_ctzll(w)]++] = (int32_t)r;
  });
  std::vector<int32_t> active;  // inputs that fired somewhere in the block
  for (int64_t j = 0; j < N; ++j) if (cnt[j + 1] > cnt[j]) active.push_back((int32_t)j);
  const int64_t nb = (OP + 63) / 64;
  at::parallel_for(0, nb, 1, [&](int64_t q0, int64_t q1) {
    std::vector<float> y(R * 64);
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t o0 = q * 64;
      const int nv = (int)std::min<int64_t>(4, (OP - o0) / 16);
      switch (nv) {
        case 1: linear_block<1>(WT, OP, BI, o0, active, cnt, rows, R, y.data()); break;
        case 2: linear_block<2>(WT, OP, BI, o0, active, cnt, rows, R, y.data()); break;
        case 3: linear_block<3>(WT, OP, BI, o0, active, cnt, rows, R, y.data()); break;
        default: linear_block<4>(WT, OP, BI, o0, active, cnt, rows, R, y.data()); break;
      }
      const int64_t len = std::min<int64_t>(16 * nv, O - o0);
      for (int64_t r = 0; r < R; ++r)
        std::memcpy(Y + r * O + o0, y.data() + r * 16 * nv, len * sizeof(float));
    }
  });
  return out;
}
"""

_FUNCTIONS = ["if_bits", "pack_bits", "unpack_bits", "conv_cur", "conv_if", "linear_bits"]
_STATE: dict[str, object] = {}


def load() -> object | None:
    """The compiled module, or None (disabled, or the build failed: see ``status()``)."""
    if "module" in _STATE:
        return _STATE["module"]
    module = None
    mode = os.environ.get("NMPKIT_COSIM_KERNELS", "1")
    if mode == "0":
        _STATE["status"] = "disabled by NMPKIT_COSIM_KERNELS=0"
    else:
        try:
            from torch.utils.cpp_extension import load_inline

            lib = Path(torch.__file__).parent / "lib"
            flags = ["-O3", "-march=native", "-fopenmp", "-ffp-contract=off"]
            if mode == "generic":
                flags.append("-DNMP_GENERIC")
            tag = hashlib.sha1((_SOURCE + " ".join(flags)).encode()).hexdigest()[:10]
            module = load_inline(
                name=f"nmpkit_cosim_kernels_{tag}_{_cpu_tag()}", cpp_sources=_SOURCE,
                functions=_FUNCTIONS, extra_cflags=flags,
                extra_ldflags=[f"-L{lib}", "-l:libgomp.so.1", f"-Wl,-rpath,{lib}"],
                verbose=False)
            _STATE["status"] = "compiled kernels" + (" (generic)" if mode == "generic" else "")
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
