// Shared helpers of the cosim kernels: vector types, bit rows, aligned scratch.
//
// Spikes travel between the kernels bit-packed: one row of a layer's spikes (one sample at one
// step, n neurons in the engine's physical order) is ceil(n / 64) int64 words, bit j of the
// row = neuron j fired (bits past n are zero).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

// The instruction set of the build: AVX-512 (F + DQ), else AVX2, else portable scalar code.
// -DNMP_GENERIC forces the portable code, -DNMP_NO_AVX512 the AVX2 path on an AVX-512 CPU
// (cosim.kernels.build modes "generic" and "avx2": the tests compare every path).
#if defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(NMP_GENERIC) && \
    !defined(NMP_NO_AVX512)
#include <immintrin.h>
#define NMP_AVX512 1
#define NMP_ISA "avx512"
#elif defined(__AVX2__) && !defined(NMP_GENERIC)
#include <immintrin.h>
#define NMP_AVX2 1
#define NMP_ISA "avx2"
#else
#define NMP_ISA "generic"
#endif

namespace nmp {

// The float vector of the build's width: 16 lanes with AVX-512, else 8 (GCC lowers a 64-byte
// vector on AVX2 through the stack, ~10x slower). Code over blocks of 16 lanes uses VPB = 16 / VW
// vectors per block; each lane sums in the same order either way.
#ifdef NMP_AVX512
typedef float vw __attribute__((vector_size(64)));
#else
typedef float vw __attribute__((vector_size(32)));
#endif
constexpr int VW = (int)(sizeof(vw) / sizeof(float));
constexpr int VPB = 16 / VW;

inline void or_bits(uint64_t* row, int64_t j0, uint64_t m) {
  if (!m) return;
  const int64_t w = j0 >> 6;
  const int s = (int)(j0 & 63);
  row[w] |= m << s;
  if (s && (m >> (64 - s))) row[w + 1] |= m >> (64 - s);
}

inline int64_t n_words(int64_t n) {
  return (n + 63) / 64;
}

// Scratch floats aligned to 64 bytes (rows of 16-lane vectors never straddle cache lines).
struct Floats {
  at::Tensor t;
  float* p;
  explicit Floats(int64_t n)
      : t(at::empty({std::max<int64_t>(n, 1)}, at::kFloat)), p(t.data_ptr<float>()) {}
  float* data() const { return p; }
};

}  // namespace nmp
