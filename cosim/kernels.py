"""Compiled CPU kernels for the engine's hot loops (built on first use; torch fallback if not).

Spikes travel between these kernels bit-packed: one row of a layer's spikes (one sample at one
step, ``n`` neurons in the engine's physical order) is ``ceil(n / 64)`` int64 words, bit ``j`` of
the row = neuron ``j`` fired (bits past ``n`` are zero). Each kernel is the plain arithmetic of the
step loop in another order of work:

- ``if_bits``: the IF update of one layer for a block of steps, sample by sample and 1024
  neurons at a time through all the steps (their state stays in L1), 16 neurons per vector
  step: the neuron of ``cosim.neuron`` with the torch step's float32 operations (threshold,
  floor, reset, and gain, transfer curve and refractory steps when present). Writes the spike
  bits, accumulates the spike counts and, for the output layer, the per-step prediction (most
  spikes so far, ties to the highest membrane potential, then the lowest index).
- ``conv_if``: event-driven Conv2d (groups = 1) on spike bits fused with the next layer's IF
  update. Per sample, output row by output row, the block's steps in order: for each output
  pixel, add the weight vectors ``w[ky, kx, c, :]`` of the active inputs in its receptive field
  (up to 64 output channels at a time in registers; with dilation 1 in x the KW taps of a
  kernel row are one contiguous run of input events; the last O % 16 <= 8 channels in a 4- or
  8-lane vector), add the bias, then update the row's neurons, whose state stays in L1 for the
  block. The current never goes to memory. ``conv_cur`` is the same sum returning the current.
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
#include <cmath>
#include <cstring>
#include <vector>
#if defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(NMP_GENERIC)
#include <immintrin.h>
#define NMP_AVX512 1
#endif

typedef float v16 __attribute__((vector_size(64)));

// ---------------------------------------------------------------- IF neuron, 16 at a time
struct IFP {  // one layer's neuron; per-neuron arrays are indexed by physical index j
  const float *th, *fl, *gain, *xs, *ys;
  bool thv, flv, floor, zero, gain_on, gainv;
  int nk;       // knots of the transfer curve (0: none)
  int32_t ref;  // refractory steps (0: none)
  bool cal() const { return gain_on || nk || ref; }
  // nk <= 64: the curve as tables of 64 (xs padded with +inf; ys; segment slopes computed as
  // torch does, (ys[i+1] - ys[i]) / (xs[i+1] - xs[i]) in float32) for in-register lookups.
  alignas(64) float lx[64], ly[64], ls[64];
};

struct IFS {  // one sample's neuron state
  float* v;
  float* c;
  int32_t* r;
};

static IFP make_ifp(const std::vector<at::Tensor>& nt, bool has_floor, bool zero,
                    int64_t refractory) {
  // nt: threshold, floor, gain, transfer xs, transfer ys (float32, contiguous; per-neuron ones
  // in the physical layout; gain/xs/ys empty when the identity)
  TORCH_CHECK(nt.size() == 5, "neuron: threshold, floor, gain, xs, ys");
  for (const auto& t : nt)
    TORCH_CHECK(t.is_contiguous() && t.scalar_type() == at::kFloat,
                "neuron tensors must be contiguous float32");
  TORCH_CHECK(nt[3].numel() == nt[4].numel() && nt[3].numel() != 1, "transfer xs/ys");
  const auto ptr = [](const at::Tensor& t) { return t.numel() ? t.data_ptr<float>() : nullptr; };
  IFP p{ptr(nt[0]), ptr(nt[1]), ptr(nt[2]), ptr(nt[3]), ptr(nt[4]),
        nt[0].numel() > 1, nt[1].numel() > 1, has_floor, zero, nt[2].numel() > 0,
        nt[2].numel() > 1, (int)nt[3].numel(), (int32_t)refractory, {}, {}, {}};
  if (p.nk && p.nk <= 64)
    for (int q = 0; q < 64; ++q) {
      p.lx[q] = q < p.nk ? p.xs[q] : INFINITY;
      p.ly[q] = q < p.nk ? p.ys[q] : 0.f;
      p.ls[q] = q + 1 < p.nk ? (p.ys[q + 1] - p.ys[q]) / (p.xs[q + 1] - p.xs[q]) : 0.f;
    }
  return p;
}

#ifdef NMP_AVX512
// t[idx] for a table of 64 floats held in 4 registers.
static inline __m512 lut64(__m512i idx, const __m512* t) {
  const __m512 lo = _mm512_permutex2var_ps(t[0], idx, t[1]);
  const __m512 hi = _mm512_permutex2var_ps(t[2], idx, t[3]);
  return _mm512_mask_mov_ps(lo, _mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), hi);
}
#endif

static IFS sample_state(const IFP& p, float* V, float* C, int32_t* R, int64_t i, int64_t n) {
  return IFS{V + i * n, C + i * n, p.ref ? R + i * n : nullptr};
}

// Neurons j0 .. j0+len-1 (len <= 16) of one sample, the step of cosim.neuron exactly (the same
// float32 operations as the torch step): x = transfer(gain * x); refractory neurons get 0 and
// cannot fire; v += x; fire = v >= th; reset; floor; counts += fire; refractory counters.
// Returns the fire mask (bit l = neuron j0 + l). CAL = false: the plain IF (no gain, transfer
// or refractoriness; the caller checks p.cal()).
template <bool CAL>
static inline uint32_t if16(const float* x, const IFS& s, const IFP& p, int64_t j0, int len) {
#ifdef NMP_AVX512
  const __mmask16 k = len >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << len) - 1u);
  __m512 xv = _mm512_maskz_loadu_ps(k, x);
  if (CAL && p.gain_on)
    xv = _mm512_mul_ps(xv, p.gainv ? _mm512_maskz_loadu_ps(k, p.gain + j0)
                                   : _mm512_set1_ps(p.gain[0]));
  if (CAL && p.nk > 64) {  // searchsorted(xs, x, right=True).clamp(1, nk - 1) - 1; interpolate
    const __m512i one = _mm512_set1_epi32(1);
    __m512i cnt = _mm512_setzero_si512();
    for (int q = 0; q < p.nk; ++q)
      cnt = _mm512_mask_add_epi32(
          cnt, _mm512_cmp_ps_mask(_mm512_set1_ps(p.xs[q]), xv, _CMP_LE_OQ), cnt, one);
    const __m512i i0 = _mm512_sub_epi32(
        _mm512_min_epi32(_mm512_max_epi32(cnt, one), _mm512_set1_epi32(p.nk - 1)), one);
    const __m512i i1 = _mm512_add_epi32(i0, one);
    const __m512 x0 = _mm512_i32gather_ps(i0, p.xs, 4), x1 = _mm512_i32gather_ps(i1, p.xs, 4);
    const __m512 y0 = _mm512_i32gather_ps(i0, p.ys, 4), y1 = _mm512_i32gather_ps(i1, p.ys, 4);
    const __m512 slope = _mm512_div_ps(_mm512_sub_ps(y1, y0), _mm512_sub_ps(x1, x0));
    xv = _mm512_add_ps(y0, _mm512_mul_ps(_mm512_sub_ps(xv, x0), slope));
  } else if (CAL && p.nk) {  // the same by binary search in the tables
    __m512 tx[4], ty[4], ts[4];
    for (int q = 0; q < 4; ++q) {
      tx[q] = _mm512_load_ps(p.lx + 16 * q);
      ty[q] = _mm512_load_ps(p.ly + 16 * q);
      ts[q] = _mm512_load_ps(p.ls + 16 * q);
    }
    const __m512i one = _mm512_set1_epi32(1);
    __m512i cnt = _mm512_setzero_si512();  // number of knots <= x (at most 63 here)
    for (int step = 32; step; step >>= 1) {
      const __m512i cand = _mm512_add_epi32(cnt, _mm512_set1_epi32(step));
      const __m512 xq = lut64(_mm512_sub_epi32(cand, one), tx);
      cnt = _mm512_mask_mov_epi32(cnt, _mm512_cmp_ps_mask(xq, xv, _CMP_LE_OQ), cand);
    }
    const __m512i i0 = _mm512_sub_epi32(
        _mm512_min_epi32(_mm512_max_epi32(cnt, one), _mm512_set1_epi32(p.nk - 1)), one);
    const __m512 x0 = lut64(i0, tx), y0 = lut64(i0, ty), slope = lut64(i0, ts);
    xv = _mm512_add_ps(y0, _mm512_mul_ps(_mm512_sub_ps(xv, x0), slope));
  }
  __mmask16 act = k;
  __m512i rv = _mm512_setzero_si512();
  if (CAL && p.ref) {
    rv = _mm512_maskz_loadu_epi32(k, s.r + j0);
    act = _mm512_mask_cmpeq_epi32_mask(k, rv, _mm512_setzero_si512());
    xv = _mm512_maskz_mov_ps(act, xv);  // the input of a refractory neuron is discarded
  }
  const __m512 th = p.thv ? _mm512_maskz_loadu_ps(k, p.th + j0) : _mm512_set1_ps(p.th[0]);
  __m512 vv = _mm512_add_ps(_mm512_maskz_loadu_ps(k, s.v + j0), xv);
  const __mmask16 f = _mm512_mask_cmp_ps_mask(act, vv, th, _CMP_GE_OQ);
  vv = p.zero ? _mm512_mask_mov_ps(vv, f, _mm512_setzero_ps())
              : _mm512_mask_sub_ps(vv, f, vv, th);
  if (p.floor) {
    const __m512 fl = p.flv ? _mm512_maskz_loadu_ps(k, p.fl + j0) : _mm512_set1_ps(p.fl[0]);
    vv = _mm512_mask_mov_ps(vv, _mm512_cmp_ps_mask(vv, fl, _CMP_LT_OQ), fl);
  }
  _mm512_mask_storeu_ps(s.v + j0, k, vv);
  const __m512 cv = _mm512_maskz_loadu_ps(k, s.c + j0);
  _mm512_mask_storeu_ps(s.c + j0, k, _mm512_mask_add_ps(cv, f, cv, _mm512_set1_ps(1.f)));
  if (CAL && p.ref) {
    rv = _mm512_max_epi32(_mm512_sub_epi32(rv, _mm512_set1_epi32(1)), _mm512_setzero_si512());
    rv = _mm512_mask_mov_epi32(rv, f, _mm512_set1_epi32(p.ref));
    _mm512_mask_storeu_epi32(s.r + j0, k, rv);
  }
  return (uint32_t)f;
#else
  uint32_t m = 0;
  for (int l = 0; l < len; ++l) {
    const int64_t j = j0 + l;
    float xv = x[l];
    if (CAL && p.gain_on) xv = xv * (p.gainv ? p.gain[j] : p.gain[0]);
    if (CAL && p.nk) {
      int cnt = 0;
      for (int q = 0; q < p.nk; ++q) cnt += p.xs[q] <= xv;
      const int i0 = std::min(std::max(cnt, 1), p.nk - 1) - 1;
      const float x0 = p.xs[i0], y0 = p.ys[i0];
      const float slope = (p.ys[i0 + 1] - y0) / (p.xs[i0 + 1] - x0);
      xv = y0 + (xv - x0) * slope;
    }
    const bool act = !CAL || !p.ref || s.r[j] == 0;
    if (!act) xv = 0.f;
    const float thj = p.thv ? p.th[j] : p.th[0];
    float vv = s.v[j] + xv;
    const bool fire = act && vv >= thj;
    if (fire) vv = p.zero ? 0.f : vv - thj;
    if (p.floor) { const float f = p.flv ? p.fl[j] : p.fl[0]; vv = vv < f ? f : vv; }
    s.v[j] = vv;
    if (fire) s.c[j] += 1.f;
    if (CAL && p.ref) s.r[j] = fire ? p.ref : std::max(s.r[j] - 1, 0);
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

// Scratch floats aligned to 64 bytes (rows of 16-lane vectors never straddle cache lines).
struct Floats {
  at::Tensor t;
  float* p;
  explicit Floats(int64_t n)
      : t(at::empty({std::max<int64_t>(n, 1)}, at::kFloat)), p(t.data_ptr<float>()) {}
  float* data() const { return p; }
};

// Output layer's prediction after a step: most spikes so far, ties to the highest membrane
// potential, then the lowest index (the order of torch.argmax on the same keys).
static inline int64_t readout(const float* c, const float* v, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k)
    if (c[k] > c[best] || (c[k] == c[best] && v[k] > v[best])) best = k;
  return best;
}

template <bool CAL>
static void if_rows(const float* X, bool cst, at::Tensor& v, at::Tensor& counts, at::Tensor& r,
                    const IFP& p, uint64_t* B, int16_t* P, int64_t ps0, int64_t ps1, int64_t tb,
                    int64_t b, int64_t n, int64_t chunk, int64_t i0, int64_t i1) {
  const int64_t nw = n_words(n);
  for (int64_t i = i0; i < i1; ++i) {
    const IFS st = sample_state(p, v.data_ptr<float>(), counts.data_ptr<float>(),
                                p.ref ? r.data_ptr<int32_t>() : nullptr, i, n);
    for (int64_t c0 = 0; c0 < n; c0 += chunk)
      for (int64_t t = 0; t < tb; ++t) {
        const float* x = cst ? X + i * n : X + (t * b + i) * n;
        uint64_t* row = B + (t * b + i) * nw;
        for (int64_t w = c0 / 64; w < std::min(nw, (c0 + chunk) / 64); ++w) {
          uint64_t m = 0;
          for (int64_t q = 0; q < 4; ++q) {
            const int64_t j0 = w * 64 + q * 16;
            if (j0 >= n) break;
            const int len = (int)std::min<int64_t>(16, n - j0);
            m |= (uint64_t)if16<CAL>(x + j0, st, p, j0, len) << (q * 16);
          }
          row[w] = m;
        }
        if (P) P[t * ps0 + i * ps1] = (int16_t)readout(st.c, st.v, n);
      }
  }
}

void if_bits(const at::Tensor& cur, bool cst, at::Tensor v, at::Tensor counts, at::Tensor r,
             const std::vector<at::Tensor>& neuron, bool has_floor, bool reset_zero,
             int64_t refractory, at::Tensor bits, at::Tensor preds) {
  // cur: (tb, b, n) or, when cst, (b, n); v, counts, r (int32, or empty without refractory
  // steps): (b, n); bits: (tb * b, ceil(n / 64)), row t * b + i; preds: empty, or an int16
  // (tb, b) view (strided) for the readout. Per sample, a chunk of 1024 neurons at a time
  // through all the steps (its state stays in L1); the whole layer at once with the readout.
  const int64_t b = v.size(0), n = v.numel() / b, nw = n_words(n);
  const int64_t tb = bits.size(0) / b;
  const IFP p = make_ifp(neuron, has_floor, reset_zero, refractory);
  TORCH_CHECK(cur.is_contiguous() && v.is_contiguous() && counts.is_contiguous() &&
              bits.is_contiguous() && bits.size(1) == nw && cur.numel() == (cst ? 1 : tb) * b * n
              && (!p.ref || (r.is_contiguous() && r.numel() == b * n)), "if_bits: bad layout");
  const float* X = cur.data_ptr<float>();
  uint64_t* B = (uint64_t*)bits.data_ptr<int64_t>();
  int16_t* P = preds.numel() ? preds.data_ptr<int16_t>() : nullptr;
  const int64_t ps0 = P ? preds.stride(0) : 0, ps1 = P ? preds.stride(1) : 0;
  const int64_t chunk = P ? nw * 64 : 1024;
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    if (p.cal()) if_rows<true>(X, cst, v, counts, r, p, B, P, ps0, ps1, tb, b, n, chunk, i0, i1);
    else if_rows<false>(X, cst, v, counts, r, p, B, P, ps0, ps1, tb, b, n, chunk, i0, i1);
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
        const float* xr = X + r * n + w * 64;
#ifdef NMP_AVX512
        for (int64_t q = 0; q < j1; q += 16) {
          const int64_t l = std::min<int64_t>(16, j1 - q);
          const __mmask16 k = l >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << l) - 1u);
          const __mmask16 nz = _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, xr + q),
                                                       _mm512_setzero_ps(), _CMP_NEQ_UQ);
          m |= (uint64_t)nz << q;
        }
#else
        for (int64_t q = 0; q < j1; ++q) m |= (uint64_t)(xr[q] != 0.f) << q;
#endif
        B[r * nw + w] = m;
      }
  });
  return out;
}

at::Tensor unpack_bits(const at::Tensor& bits, int64_t n, at::Tensor out) {
  // (R, ceil(n / 64)) int64 -> (R, n) float 0/1, into ``out`` (R n floats; empty: a new one)
  const int64_t R = bits.size(0), nw = bits.size(1);
  TORCH_CHECK(bits.is_contiguous() && nw == n_words(n), "unpack_bits: bad layout");
  if (!out.numel()) out = at::empty({R, n}, bits.options().dtype(at::kFloat));
  TORCH_CHECK(out.is_contiguous() && out.numel() == R * n && out.scalar_type() == at::kFloat,
              "unpack_bits: out");
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  float* Y = out.data_ptr<float>();
  at::parallel_for(0, R, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* y = Y + r * n;
#ifdef NMP_AVX512
      for (int64_t j = 0; j < n; j += 16) {
        const int64_t l = std::min<int64_t>(16, n - j);
        const __mmask16 k = l >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << l) - 1u);
        const __mmask16 s = (__mmask16)(B[r * nw + (j >> 6)] >> (j & 63));
        _mm512_mask_storeu_ps(y + j, k, _mm512_maskz_mov_ps(s, _mm512_set1_ps(1.f)));
      }
#else
      for (int64_t j = 0; j < n; ++j) y[j] = (float)((B[r * nw + (j >> 6)] >> (j & 63)) & 1);
#endif
    }
  });
  return out;
}

// ---------------------------------------------------------------- event-driven Conv2d
// Weights (KH, KW, C, OM): the first output channels in whole vectors of 16 (zero-padded when
// O % 16 > 8); the last O % 16 <= 8 channels in a tail (KH, KW, C, TL), one vector of TL = 4 or
// 8 lanes (zero-padded; TL = 0 without a tail): few lanes wasted on padding.
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
template <int TL> struct TailV { typedef v4 type; };  // TL = 0: unused
template <> struct TailV<8> { typedef v8 type; };

struct Geo {  // input (H, W, C) channels-last; output (OH, OW, O)
  int64_t H, W, C, KH, KW, OM, TL, O, OH, OW, sh, sw, ph, pw, dh, dw;
};

static Geo make_geo(const at::Tensor& wm, const at::Tensor& wt, const std::vector<int64_t>& a) {
  TORCH_CHECK(a.size() == 14, "conv geometry: H, W, C, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, O");
  const Geo g{a[0], a[1], a[2], a[3], a[4], wm.size(3), wt.size(3), a[13], a[11], a[12],
              a[5], a[6], a[7], a[8], a[9], a[10]};
  TORCH_CHECK(wm.dim() == 4 && wt.dim() == 4 && wm.is_contiguous() && wt.is_contiguous() &&
              wm.scalar_type() == at::kFloat && wt.scalar_type() == at::kFloat &&
              wm.size(0) == g.KH && wm.size(1) == g.KW && wm.size(2) == g.C &&
              wt.size(0) == g.KH && wt.size(1) == g.KW && wt.size(2) == g.C &&
              g.OM % 16 == 0 && (g.TL == 0 || g.TL == 4 || g.TL == 8) &&
              (g.TL == 0 || g.OM == g.O / 16 * 16) && g.OM + g.TL >= g.O, "conv weights");
  return g;
}

// The events of one row: off[e] = j for each spike j ascending (j = pixel * C + channel);
// starts[p] = index of the first event of input pixel p (p = 0 .. H * W).
static void row_events(const uint64_t* bits, const Geo& g, int64_t* off, int32_t* starts) {
  const int64_t HW = g.H * g.W, nw = n_words(HW * g.C);
  int32_t m = 0;
  for (int64_t k = 0; k < nw; ++k) {
    uint64_t w = bits[k];
    while (w) {
      off[m++] = k * 64 + __builtin_ctzll(w);
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

// a[k] += WM[bm + j OM + 16 k] (k < NV), at += WT[bt + j TL ..] for the events e0 .. e1.
template <int NV, int TL>
static inline void add_events(v16* a, typename TailV<TL>::type& at, const float* WM,
                              const float* WT, int64_t bm, int64_t bt, int64_t OM,
                              const int64_t* off, int32_t e0, int32_t e1) {
  for (int32_t e = e0; e < e1; ++e) {
    const int64_t j = off[e];
    const float* w = WM + (bm + j * OM);
    for (int k = 0; k < NV; ++k) {
      v16 t;
      __builtin_memcpy(&t, w + 16 * k, 64);
      a[k] += t;
    }
    if (TL) {
      typename TailV<TL>::type t;
      __builtin_memcpy(&t, WT + (bt + j * TL), TL * sizeof(float));
      at += t;
    }
  }
}

// One pass over output row oy for channels o0 .. o0 + 16 NV (+ the tail's TL when TL > 0):
// acc[ox * 64 + q] = sum of the weights of the active inputs in the receptive field of
// (oy, ox), ky, kx, c ascending. Kernel row by kernel row (ky outer): the weights in use stay
// in L1; the row's partial sums wait in acc (L1).
template <int NV, int TL>
static void conv_pass(const float* WM, const float* WT, const int64_t* off,
                      const int32_t* starts, const Geo& g, int64_t oy, int64_t o0, float* acc) {
  typedef typename TailV<TL>::type tv;
  for (int64_t q = 0; q < g.OW * 64; ++q) acc[q] = 0.f;
  for (int64_t ky = 0; ky < g.KH; ++ky) {
    const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
    if (iy < 0 || iy >= g.H) continue;
    for (int64_t ox = 0; ox < g.OW; ++ox) {
      float* ac = acc + ox * 64;
      v16 a[NV > 0 ? NV : 1];
      tv at = {};
      for (int k = 0; k < NV; ++k) __builtin_memcpy(&a[k], ac + 16 * k, 64);
      if (TL) __builtin_memcpy(&at, ac + 16 * NV, TL * sizeof(float));
      const int64_t x0 = ox * g.sw - g.pw;
      if (g.dw == 1) {  // taps kx = 0 .. KW-1 are input pixels x0 .. x0+KW-1: one run of events
        const int64_t xa = std::max<int64_t>(0, x0), xb = std::min<int64_t>(g.W, x0 + g.KW);
        if (xa < xb) {
          const int64_t q = ky * g.KW * g.C - (iy * g.W + x0) * g.C;
          add_events<NV, TL>(a, at, WM, WT, q * g.OM + o0, q * TL, g.OM, off,
                             starts[iy * g.W + xa], starts[iy * g.W + xb]);
        }
      } else {
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const int64_t ix = x0 + kx * g.dw;
          if (ix < 0 || ix >= g.W) continue;
          const int64_t p = iy * g.W + ix, q = (ky * g.KW + kx) * g.C - p * g.C;
          add_events<NV, TL>(a, at, WM, WT, q * g.OM + o0, q * TL, g.OM, off, starts[p],
                             starts[p + 1]);
        }
      }
      for (int k = 0; k < NV; ++k) __builtin_memcpy(ac + 16 * k, &a[k], 64);
      if (TL) __builtin_memcpy(ac + 16 * NV, &at, TL * sizeof(float));
    }
  }
}

// The current of output row oy: x[ox * O + o] = sum + bias[o]. acc: scratch of OW * 64 floats.
// Passes of 64 channels; the tail joins the last one.
static void conv_out_row(const float* WM, const float* WT, const float* BI, const int64_t* off,
                         const int32_t* starts, const Geo& g, int64_t oy, float* x, float* acc) {
  for (int64_t o0 = 0; o0 < g.O; o0 += 64) {
    const int nv = (int)std::min<int64_t>(4, std::max<int64_t>(0, (g.OM - o0) / 16));
    const int tl = o0 + 64 >= g.O ? (int)g.TL : 0;
    switch (nv * 3 + tl / 4) {
#define NMP_PASS(n, t) case n * 3 + t / 4: \
      conv_pass<n, t>(WM, WT, off, starts, g, oy, o0, acc); break;
      NMP_PASS(0, 4) NMP_PASS(0, 8) NMP_PASS(1, 0) NMP_PASS(1, 4) NMP_PASS(1, 8)
      NMP_PASS(2, 0) NMP_PASS(2, 4) NMP_PASS(2, 8) NMP_PASS(3, 0) NMP_PASS(3, 4)
      NMP_PASS(3, 8) NMP_PASS(4, 0) NMP_PASS(4, 4) NMP_PASS(4, 8)
#undef NMP_PASS
      default: TORCH_CHECK(false, "conv pass without channels");
    }
    const int64_t len = std::min<int64_t>(64, g.O - o0);
    for (int64_t ox = 0; ox < g.OW; ++ox)
      for (int64_t q = 0; q < len; ++q) x[ox * g.O + o0 + q] = acc[ox * 64 + q] + BI[o0 + q];
  }
}

struct ConvScratch {
  std::vector<int64_t> off;
  std::vector<int32_t> starts;
  Floats acc;
  ConvScratch(const Geo& g, int64_t steps)  // off: grown to the events of the rows in use
      : off(g.H * g.W * g.C), starts(steps * (g.H * g.W + 1)), acc(g.OW * 64) {}
};

at::Tensor conv_cur(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
                    const at::Tensor& bias, const std::vector<int64_t>& geo) {
  // bits: (R, ceil(H W C / 64)); wm, wt: the weights (see Geo); bias: (OM + TL,) zero-padded.
  // Returns the current (R, OH, OW, O).
  const Geo g = make_geo(wm, wt, geo);
  const int64_t R = bits.size(0), nw = bits.size(1);
  TORCH_CHECK(bits.is_contiguous() && nw == n_words(g.H * g.W * g.C), "conv_cur: bits");
  auto out = at::empty({R, g.OH, g.OW, g.O}, wm.options());
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  const float* WM = wm.data_ptr<float>();
  const float* WT = wt.data_ptr<float>();
  const float* BI = bias.data_ptr<float>();
  float* Y = out.data_ptr<float>();
  at::parallel_for(0, R, 1, [&](int64_t r0, int64_t r1) {
    ConvScratch s(g, 1);
    for (int64_t r = r0; r < r1; ++r) {
      row_events(B + r * nw, g, s.off.data(), s.starts.data());
      for (int64_t oy = 0; oy < g.OH; ++oy)
        conv_out_row(WM, WT, BI, s.off.data(), s.starts.data(), g, oy,
                     Y + (r * g.OH + oy) * g.OW * g.O, s.acc.data());
    }
  });
  return out;
}

void conv_if(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
             const at::Tensor& bias, const std::vector<int64_t>& geo, at::Tensor v,
             at::Tensor counts, at::Tensor r,
             const std::vector<at::Tensor>& neuron, bool has_floor, bool reset_zero,
             int64_t refractory, at::Tensor bits_out) {
  // Conv2d of the spikes in ``bits`` (rows t * b + i) fused with the IF update of the next
  // layer (v, counts, r: (b, OH OW O)); its spikes go to bits_out (rows t * b + i). Samples in
  // parallel; per sample, output row by output row, the steps in order: the row's membranes
  // stay in L1 for the whole block, each step's current is used while in L1.
  const Geo g = make_geo(wm, wt, geo);
  const int64_t b = v.size(0), n = v.numel() / b, nwi = bits.size(1), nwo = n_words(n);
  const int64_t tb = bits.size(0) / b, m = g.OW * g.O, HW1 = g.H * g.W + 1;
  TORCH_CHECK(n == g.OH * g.OW * g.O && nwi == n_words(g.H * g.W * g.C) &&
              bits.is_contiguous() && bits_out.is_contiguous() && bits_out.size(1) == nwo &&
              bits_out.size(0) == tb * b && v.is_contiguous() && counts.is_contiguous(),
              "conv_if: bad layout");
  const IFP p = make_ifp(neuron, has_floor, reset_zero, refractory);
  TORCH_CHECK(!p.ref || (r.is_contiguous() && r.numel() == b * n), "conv_if: refractory state");
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  uint64_t* BO = (uint64_t*)bits_out.data_ptr<int64_t>();
  const float* WM = wm.data_ptr<float>();
  const float* WT = wt.data_ptr<float>();
  const float* BI = bias.data_ptr<float>();
  float* V = v.data_ptr<float>();
  float* C = counts.data_ptr<float>();
  int32_t* RR = p.ref ? r.data_ptr<int32_t>() : nullptr;
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    ConvScratch s(g, tb);
    std::vector<int64_t> first(tb);  // step t's events start at s.off[first[t]]
    Floats x(m);
    for (int64_t i = i0; i < i1; ++i) {
      const IFS st = sample_state(p, V, C, RR, i, n);
      int64_t tot = 0;
      for (int64_t t = 0; t < tb; ++t)
        for (int64_t k = 0; k < nwi; ++k) tot += __builtin_popcountll(B[(t * b + i) * nwi + k]);
      if ((int64_t)s.off.size() < tot) s.off.resize(tot);
      tot = 0;
      for (int64_t t = 0; t < tb; ++t) {
        first[t] = tot;
        int32_t* starts_t = s.starts.data() + t * HW1;
        row_events(B + (t * b + i) * nwi, g, s.off.data() + tot, starts_t);
        tot += starts_t[HW1 - 1];
        std::memset(BO + (t * b + i) * nwo, 0, nwo * sizeof(uint64_t));
      }
      for (int64_t oy = 0; oy < g.OH; ++oy)
        for (int64_t t = 0; t < tb; ++t) {
          conv_out_row(WM, WT, BI, s.off.data() + first[t], s.starts.data() + t * HW1, g,
                       oy, x.data(), s.acc.data());
          uint64_t* row = BO + (t * b + i) * nwo;
          const int64_t j0 = oy * m;
          for (int64_t q = 0; q < m; q += 16) {
            const int l = (int)std::min<int64_t>(16, m - q);
            or_bits(row, j0 + q, p.cal() ? if16<true>(x.data() + q, st, p, j0 + q, l)
                                         : if16<false>(x.data() + q, st, p, j0 + q, l));
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
      if (e + 8 < e1) {  // the rows are scattered over the block's sums (L2)
        const float* ya = y + (int64_t)rows[e + 8] * NV * 16;
        for (int k = 0; k < NV; ++k) __builtin_prefetch(ya + 16 * k, 1);
      }
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
    Floats y(R * 64);
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
