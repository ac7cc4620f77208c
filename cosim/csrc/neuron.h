// The IF neuron of cosim.neuron.if_step, 16 neurons at a time (AVX-512, AVX2 or portable code).
#pragma once

#include "common.h"

namespace nmp {

// One layer's neuron. Per-neuron arrays are indexed by physical index j; a scalar parameter
// is an array of one (th_vec / floor_vec / gain_vec false).
struct IFP {
  const float* th;       // threshold
  const float* floor;    // absolute floor: IFNeuron.lower_bound x threshold (read if has_floor)
  const float* gain;     // input gain (read if gain_on)
  const float *xs, *ys;  // transfer curve knots (nk of each)
  bool th_vec, floor_vec, gain_vec;
  bool has_floor, zero, gain_on;  // zero: reset to zero (else subtract the threshold)
  int nk;                         // knots of the transfer curve (0: none)
  int32_t ref;                    // refractory steps (0: none)
  bool cal() const { return gain_on || nk || ref; }
  // nk <= 128: the curve as tables of 128 (xs padded with +inf; ys; segment slopes computed as
  // torch does, (ys[i+1] - ys[i]) / (xs[i+1] - xs[i]) in float32) for in-register lookups
  // (the first 64 entries of each for nk <= 64).
  alignas(64) float lx[128], ly[128], ls[128];
};

struct IFS {   // one sample's neuron state
  float* v;    // membrane
  float* c;    // spike counts
  int32_t* r;  // refractory counters (nullptr without refractory steps)
  float* d;    // charge the floor discarded, sum of floor - v where v < floor (nullptr: not kept)
};

// nt: threshold, floor, gain, transfer xs, transfer ys (float32, contiguous; per-neuron ones in
// the physical layout; gain/xs/ys empty when the identity).
inline IFP make_ifp(const std::vector<at::Tensor>& nt, bool has_floor, bool zero,
                    int64_t refractory) {
  TORCH_CHECK(nt.size() == 5, "neuron: threshold, floor, gain, xs, ys");
  for (const auto& t : nt)
    TORCH_CHECK(t.is_contiguous() && t.scalar_type() == at::kFloat,
                "neuron tensors must be contiguous float32");
  TORCH_CHECK(nt[3].numel() == nt[4].numel() && nt[3].numel() != 1, "transfer xs/ys");
  TORCH_CHECK(!has_floor || nt[1].numel() > 0, "neuron: has_floor without a floor tensor");
  const auto ptr = [](const at::Tensor& t) { return t.numel() ? t.data_ptr<float>() : nullptr; };
  IFP p{};
  p.th = ptr(nt[0]);
  p.floor = ptr(nt[1]);
  p.gain = ptr(nt[2]);
  p.xs = ptr(nt[3]);
  p.ys = ptr(nt[4]);
  p.th_vec = nt[0].numel() > 1;
  p.floor_vec = nt[1].numel() > 1;
  p.gain_vec = nt[2].numel() > 1;
  p.has_floor = has_floor;
  p.zero = zero;
  p.gain_on = nt[2].numel() > 0;
  p.nk = (int)nt[3].numel();
  p.ref = (int32_t)refractory;
  if (p.nk && p.nk <= 128)
    for (int q = 0; q < 128; ++q) {
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

// t[idx] for a table of 128 floats held in 8 registers.
static inline __m512 lut128(__m512i idx, const __m512* t) {
  return _mm512_mask_mov_ps(lut64(idx, t), _mm512_test_epi32_mask(idx, _mm512_set1_epi32(64)),
                            lut64(idx, t + 4));
}

// searchsorted(xs, x, right=True).clamp(1, nk - 1) - 1 for the knots in the tables lx of p
// (NQ registers of 16, padded with +inf): binary search for the number of knots <= x, with the
// table lookups in registers; returns the segment index and sets x0, y0 and the slope.
template <int NQ>
static inline __m512i segment(__m512 xv, const IFP& p, __m512& x0, __m512& y0, __m512& slope) {
  __m512 tx[NQ], ty[NQ], ts[NQ];
  for (int q = 0; q < NQ; ++q) {
    tx[q] = _mm512_load_ps(p.lx + 16 * q);
    ty[q] = _mm512_load_ps(p.ly + 16 * q);
    ts[q] = _mm512_load_ps(p.ls + 16 * q);
  }
  const auto lut = [](__m512i i, const __m512* t) { return NQ == 4 ? lut64(i, t) : lut128(i, t); };
  const __m512i one = _mm512_set1_epi32(1);
  __m512i cnt = _mm512_setzero_si512();  // number of knots <= x (at most 16 NQ - 1 here)
  for (int step = 8 * NQ; step; step >>= 1) {
    const __m512i cand = _mm512_add_epi32(cnt, _mm512_set1_epi32(step));
    const __m512 xq = lut(_mm512_sub_epi32(cand, one), tx);
    cnt = _mm512_mask_mov_epi32(cnt, _mm512_cmp_ps_mask(xq, xv, _CMP_LE_OQ), cand);
  }
  const __m512i i0 = _mm512_sub_epi32(
      _mm512_min_epi32(_mm512_max_epi32(cnt, one), _mm512_set1_epi32(p.nk - 1)), one);
  x0 = lut(i0, tx);
  y0 = lut(i0, ty);
  slope = lut(i0, ts);
  return i0;
}
#endif

inline IFS sample_state(const IFP& p, float* V, float* C, int32_t* R, float* D, int64_t i,
                        int64_t n) {
  return IFS{V + i * n, C + i * n, p.ref ? R + i * n : nullptr, D ? D + i * n : nullptr};
}

}  // namespace nmp

#include "neuron_avx2.h"

namespace nmp {

// Neurons j0 .. j0+len-1 (len <= 16) of one sample, cosim.neuron.if_step exactly (the same
// float32 operations as the torch step): x = transfer(gain * x); refractory neurons get 0 and
// cannot fire; v += x; fire = v >= th; reset; floor where x < 0 (adding what it removes to s.d
// when kept); counts += fire; refractory counters.
// Returns the fire mask (bit l = neuron j0 + l). CAL = false: the plain IF (no gain, transfer
// or refractoriness; the caller checks p.cal()).
template <bool CAL>
inline uint32_t if16(const float* x, const IFS& s, const IFP& p, int64_t j0, int len) {
#ifdef NMP_AVX512
  const __mmask16 k = len >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << len) - 1u);
  __m512 xv = _mm512_maskz_loadu_ps(k, x);
  if (CAL && p.gain_on)
    xv = _mm512_mul_ps(
        xv, p.gain_vec ? _mm512_maskz_loadu_ps(k, p.gain + j0) : _mm512_set1_ps(p.gain[0]));
  if (CAL && p.nk > 128) {  // searchsorted(xs, x, right=True).clamp(1, nk - 1) - 1; interpolate
    const __m512i one = _mm512_set1_epi32(1);
    __m512i cnt = _mm512_setzero_si512();
    for (int q = 0; q < p.nk; ++q)
      cnt = _mm512_mask_add_epi32(cnt, _mm512_cmp_ps_mask(_mm512_set1_ps(p.xs[q]), xv, _CMP_LE_OQ),
                                  cnt, one);
    const __m512i i0 = _mm512_sub_epi32(
        _mm512_min_epi32(_mm512_max_epi32(cnt, one), _mm512_set1_epi32(p.nk - 1)), one);
    const __m512i i1 = _mm512_add_epi32(i0, one);
    const __m512 x0 = _mm512_i32gather_ps(i0, p.xs, 4), x1 = _mm512_i32gather_ps(i1, p.xs, 4);
    const __m512 y0 = _mm512_i32gather_ps(i0, p.ys, 4), y1 = _mm512_i32gather_ps(i1, p.ys, 4);
    const __m512 slope = _mm512_div_ps(_mm512_sub_ps(y1, y0), _mm512_sub_ps(x1, x0));
    xv = _mm512_add_ps(y0, _mm512_mul_ps(_mm512_sub_ps(xv, x0), slope));
  } else if (CAL && p.nk) {  // the same by binary search in the tables (64 or 128 entries)
    __m512 x0, y0, slope;
    if (p.nk > 64)
      segment<8>(xv, p, x0, y0, slope);
    else
      segment<4>(xv, p, x0, y0, slope);
    xv = _mm512_add_ps(y0, _mm512_mul_ps(_mm512_sub_ps(xv, x0), slope));
  }
  __mmask16 act = k;
  __m512i rv = _mm512_setzero_si512();
  if (CAL && p.ref) {
    rv = _mm512_maskz_loadu_epi32(k, s.r + j0);
    act = _mm512_mask_cmpeq_epi32_mask(k, rv, _mm512_setzero_si512());
    xv = _mm512_maskz_mov_ps(act, xv);  // the input of a refractory neuron is discarded
  }
  const __m512 th = p.th_vec ? _mm512_maskz_loadu_ps(k, p.th + j0) : _mm512_set1_ps(p.th[0]);
  __m512 vv = _mm512_add_ps(_mm512_maskz_loadu_ps(k, s.v + j0), xv);
  const __mmask16 f = _mm512_mask_cmp_ps_mask(act, vv, th, _CMP_GE_OQ);
  vv = p.zero ? _mm512_mask_mov_ps(vv, f, _mm512_setzero_ps()) : _mm512_mask_sub_ps(vv, f, vv, th);
  if (p.has_floor) {
    const __m512 fl =
        p.floor_vec ? _mm512_maskz_loadu_ps(k, p.floor + j0) : _mm512_set1_ps(p.floor[0]);
    // the floor bounds inhibition: it binds only where this step's input is negative
    const __mmask16 inh = _mm512_mask_cmp_ps_mask(k, xv, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __mmask16 below = _mm512_mask_cmp_ps_mask(inh, vv, fl, _CMP_LT_OQ);
    if (s.d && below) {
      const __m512 dv = _mm512_maskz_loadu_ps(k, s.d + j0);
      _mm512_mask_storeu_ps(s.d + j0, k, _mm512_mask_add_ps(dv, below, dv, _mm512_sub_ps(fl, vv)));
    }
    vv = _mm512_mask_mov_ps(vv, below, fl);
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
#elif defined(NMP_AVX2)
  return avx2::if16<CAL>(x, s, p, j0, len);
#else
  uint32_t m = 0;
  for (int l = 0; l < len; ++l) {
    const int64_t j = j0 + l;
    float xv = x[l];
    if (CAL && p.gain_on) xv = xv * (p.gain_vec ? p.gain[j] : p.gain[0]);
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
    const float thj = p.th_vec ? p.th[j] : p.th[0];
    float vv = s.v[j] + xv;
    const bool fire = act && vv >= thj;
    if (fire) vv = p.zero ? 0.f : vv - thj;
    if (p.has_floor) {
      const float f = p.floor_vec ? p.floor[j] : p.floor[0];
      if (xv < 0.f && vv < f) {  // the floor bounds inhibition (binds under negative input)
        if (s.d) s.d[j] += f - vv;
        vv = f;
      }
    }
    s.v[j] = vv;
    if (fire) s.c[j] += 1.f;
    if (CAL && p.ref) s.r[j] = fire ? p.ref : std::max(s.r[j] - 1, 0);
    m |= (uint32_t)fire << l;
  }
  return m;
#endif
}

}  // namespace nmp
