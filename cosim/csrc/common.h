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

#if defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(NMP_GENERIC)
#include <immintrin.h>
#define NMP_AVX512 1
#endif

namespace nmp {

typedef float v16 __attribute__((vector_size(64)));

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
