// pack_bits / unpack_bits: dense 0/1 spikes to bit rows and back.
#include "common.h"
#include "kernels.h"

namespace nmp {

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
#elif defined(NMP_AVX2)
        int64_t q = 0;
        for (; q + 8 <= j1; q += 8)
          m |= (uint64_t)_mm256_movemask_ps(
                   _mm256_cmp_ps(_mm256_loadu_ps(xr + q), _mm256_setzero_ps(), _CMP_NEQ_UQ))
               << q;
        for (; q < j1; ++q) m |= (uint64_t)(xr[q] != 0.f) << q;
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
#elif defined(NMP_AVX2)
      const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
      int64_t j = 0;
      for (; j + 8 <= n; j += 8) {
        const __m256i s = _mm256_set1_epi32((int)((B[r * nw + (j >> 6)] >> (j & 63)) & 0xFF));
        const __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(s, lane), lane);
        _mm256_storeu_ps(y + j, _mm256_and_ps(_mm256_castsi256_ps(on), _mm256_set1_ps(1.f)));
      }
      for (; j < n; ++j) y[j] = (float)((B[r * nw + (j >> 6)] >> (j & 63)) & 1);
#else
      for (int64_t j = 0; j < n; ++j) y[j] = (float)((B[r * nw + (j >> 6)] >> (j & 63)) & 1);
#endif
    }
  });
  return out;
}

}  // namespace nmp
