// The IF step of neuron.h for AVX2 CPUs (no AVX-512): 8 neurons per 256-bit vector, the same
// float32 operations in the same order as cosim.neuron.if_step (no FMA: -ffp-contract=off and
// separate multiply and add), so every path of the build gives the same bits.
// Included by neuron.h after IFP and IFS.
#pragma once

#ifdef NMP_AVX2
namespace nmp {
namespace avx2 {

// Lanes 0 .. len-1 of 8 as an all-ones int mask.
static inline __m256i lanes(int len) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(len), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Loads and stores of 8 floats/ints, masked only on a ragged tail (FULL = all 8 lanes): AMD
// cores run masked stores slowly, and a row is mostly whole vectors.
template <bool FULL>
static inline __m256 ld(const float* a, __m256i km) {
  return FULL ? _mm256_loadu_ps(a) : _mm256_maskload_ps(a, km);
}
template <bool FULL>
static inline void st(float* a, __m256i km, __m256 x) {
  if (FULL)
    _mm256_storeu_ps(a, x);
  else
    _mm256_maskstore_ps(a, km, x);
}
template <bool FULL>
static inline __m256i ldi(const int32_t* a, __m256i km) {
  return FULL ? _mm256_loadu_si256((const __m256i*)a) : _mm256_maskload_epi32((const int*)a, km);
}
template <bool FULL>
static inline void sti(int32_t* a, __m256i km, __m256i x) {
  if (FULL)
    _mm256_storeu_si256((__m256i*)a, x);
  else
    _mm256_maskstore_epi32((int*)a, km, x);
}

// Per-neuron array a at j, or the broadcast scalar a[0].
template <bool FULL>
static inline __m256 param(const float* a, bool vec, int64_t j, __m256i km) {
  return vec ? ld<FULL>(a + j, km) : _mm256_set1_ps(a[0]);
}

// The transfer curve: i0 = searchsorted(xs, x, right=True).clamp(1, nk - 1) - 1, then
// y0 + (x - x0) * slope. With the knots ascending, i0 is the last knot q in 1 .. nk-2 with
// xs[q] <= x (0 if none). nk <= 128: the knots scanned in order with x0, y0 and the slope
// blended in from the tables, stopping at the first knot above every lane (no gathers: AVX2
// gathers are slow on AMD cores; 1.7x faster than a binary search by gathers on the MNIST net's
// 98-knot curve); nk > 128: the knots counted, the segment gathered.
static inline __m256 transfer(__m256 xv, const IFP& p) {
  if (p.nk <= 128) {  // i0 = the last knot q in 1 .. nk-2 with xs[q] <= x, else 0: scan, blend
    __m256 x0 = _mm256_set1_ps(p.lx[0]), y0 = _mm256_set1_ps(p.ly[0]),
           slope = _mm256_set1_ps(p.ls[0]);
    for (int q = 1; q < p.nk - 1; ++q) {
      const __m256 m = _mm256_cmp_ps(_mm256_set1_ps(p.lx[q]), xv, _CMP_LE_OQ);
      if (!_mm256_movemask_ps(m)) break;  // knots ascend: no later one is <= any lane
      x0 = _mm256_blendv_ps(x0, _mm256_set1_ps(p.lx[q]), m);
      y0 = _mm256_blendv_ps(y0, _mm256_set1_ps(p.ly[q]), m);
      slope = _mm256_blendv_ps(slope, _mm256_set1_ps(p.ls[q]), m);
    }
    return _mm256_add_ps(y0, _mm256_mul_ps(_mm256_sub_ps(xv, x0), slope));
  }
  const __m256i one = _mm256_set1_epi32(1);
  __m256i cnt = _mm256_setzero_si256();
  for (int q = 0; q < p.nk; ++q)  // the all-ones compare mask is -1: subtract it
    cnt = _mm256_sub_epi32(
        cnt, _mm256_castps_si256(_mm256_cmp_ps(_mm256_set1_ps(p.xs[q]), xv, _CMP_LE_OQ)));
  const __m256i i0 = _mm256_sub_epi32(
      _mm256_min_epi32(_mm256_max_epi32(cnt, one), _mm256_set1_epi32(p.nk - 1)), one);
  const __m256i i1 = _mm256_add_epi32(i0, one);
  const __m256 x0 = _mm256_i32gather_ps(p.xs, i0, 4), y0 = _mm256_i32gather_ps(p.ys, i0, 4);
  const __m256 slope = _mm256_div_ps(_mm256_sub_ps(_mm256_i32gather_ps(p.ys, i1, 4), y0),
                                     _mm256_sub_ps(_mm256_i32gather_ps(p.xs, i1, 4), x0));
  return _mm256_add_ps(y0, _mm256_mul_ps(_mm256_sub_ps(xv, x0), slope));
}

// Neurons j .. j+7 (lanes past len masked off; FULL: len = 8) of one sample: if16's step.
// Returns the fire mask (bit l = neuron j + l).
template <bool CAL, bool FULL>
static inline uint32_t if8(const float* x, const IFS& s, const IFP& p, int64_t j, int len) {
  const __m256i km = FULL ? _mm256_set1_epi32(-1) : lanes(len);
  const __m256 kf = _mm256_castsi256_ps(km);
  __m256 xv = ld<FULL>(x, km);
  if (CAL && p.gain_on) xv = _mm256_mul_ps(xv, param<FULL>(p.gain, p.gain_vec, j, km));
  if (CAL && p.nk) xv = transfer(xv, p);
  __m256 act = kf;
  __m256i rv = _mm256_setzero_si256();
  if (CAL && p.ref) {
    rv = ldi<FULL>(s.r + j, km);
    act = _mm256_and_ps(kf, _mm256_castsi256_ps(_mm256_cmpeq_epi32(rv, _mm256_setzero_si256())));
    xv = _mm256_and_ps(xv, act);  // the input of a refractory neuron is discarded
  }
  const __m256 th = param<FULL>(p.th, p.th_vec, j, km);
  __m256 vv = _mm256_add_ps(ld<FULL>(s.v + j, km), xv);
  const __m256 f = _mm256_and_ps(act, _mm256_cmp_ps(vv, th, _CMP_GE_OQ));
  vv = p.zero ? _mm256_andnot_ps(f, vv) : _mm256_blendv_ps(vv, _mm256_sub_ps(vv, th), f);
  if (p.has_floor) {
    const __m256 fl = param<FULL>(p.floor, p.floor_vec, j, km);
    const __m256 inh = _mm256_cmp_ps(xv, _mm256_setzero_ps(), _CMP_LT_OQ);  // floor: x < 0 only
    const __m256 below = _mm256_and_ps(_mm256_and_ps(kf, inh), _mm256_cmp_ps(vv, fl, _CMP_LT_OQ));
    if (s.d && _mm256_movemask_ps(below)) {
      const __m256 dv = ld<FULL>(s.d + j, km);
      st<FULL>(s.d + j, km, _mm256_blendv_ps(dv, _mm256_add_ps(dv, _mm256_sub_ps(fl, vv)), below));
    }
    vv = _mm256_blendv_ps(vv, fl, below);
  }
  st<FULL>(s.v + j, km, vv);
  const __m256 cv = ld<FULL>(s.c + j, km);
  st<FULL>(s.c + j, km, _mm256_blendv_ps(cv, _mm256_add_ps(cv, _mm256_set1_ps(1.f)), f));
  if (CAL && p.ref) {
    rv = _mm256_max_epi32(_mm256_sub_epi32(rv, _mm256_set1_epi32(1)), _mm256_setzero_si256());
    rv = _mm256_blendv_epi8(rv, _mm256_set1_epi32(p.ref), _mm256_castps_si256(f));
    sti<FULL>(s.r + j, km, rv);
  }
  return (uint32_t)_mm256_movemask_ps(f);
}

// if16 on AVX2: two halves of 8.
template <bool CAL>
static inline uint32_t if16(const float* x, const IFS& s, const IFP& p, int64_t j0, int len) {
  if (len == 16)
    return if8<CAL, true>(x, s, p, j0, 8) | (if8<CAL, true>(x + 8, s, p, j0 + 8, 8) << 8);
  uint32_t m = len >= 8 ? if8<CAL, true>(x, s, p, j0, 8) : if8<CAL, false>(x, s, p, j0, len);
  if (len > 8) m |= if8<CAL, false>(x + 8, s, p, j0 + 8, len - 8) << 8;
  return m;
}

}  // namespace avx2
}  // namespace nmp
#endif
