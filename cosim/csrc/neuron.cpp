// if_bits: the IF update of one layer for a block of steps, spikes out as bits.
#include "neuron.h"

#include "kernels.h"

namespace nmp {
namespace {

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
                    float* D, const IFP& p, uint64_t* B, int16_t* P, int64_t ps0, int64_t ps1,
                    int64_t tb, int64_t b, int64_t n, int64_t chunk, int64_t i0, int64_t i1) {
  const int64_t nw = n_words(n);
  for (int64_t i = i0; i < i1; ++i) {
    const IFS st = sample_state(p, v.data_ptr<float>(), counts.data_ptr<float>(),
                                p.ref ? r.data_ptr<int32_t>() : nullptr, D, i, n);
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

}  // namespace

void if_bits(const at::Tensor& cur, bool cst, at::Tensor v, at::Tensor counts, at::Tensor r,
             at::Tensor discard, const std::vector<at::Tensor>& neuron, bool has_floor,
             bool reset_zero, int64_t refractory, at::Tensor bits, at::Tensor preds) {
  // cur: (tb, b, n) or, when cst, (b, n); v, counts, r (int32, or empty without refractory
  // steps), discard (the floor's discarded charge, float; empty: not kept): (b, n); bits: (tb * b,
  // ceil(n / 64)), row t * b + i; preds: empty, or an int16 (tb, b) view (strided) for the readout.
  // Per sample, a chunk of 1024 neurons at a time through all the steps (its state stays in L1);
  // the whole layer at once with the readout.
  const int64_t b = v.size(0), n = v.numel() / b, nw = n_words(n);
  const int64_t tb = bits.size(0) / b;
  const IFP p = make_ifp(neuron, has_floor, reset_zero, refractory);
  TORCH_CHECK(cur.is_contiguous() && v.is_contiguous() && counts.is_contiguous() &&
                  bits.is_contiguous() && bits.size(1) == nw &&
                  cur.numel() == (cst ? 1 : tb) * b * n &&
                  (!p.ref || (r.is_contiguous() && r.numel() == b * n)),
              "if_bits: bad layout");
  TORCH_CHECK(!discard.numel() || (discard.is_contiguous() && discard.numel() == b * n &&
                                   discard.scalar_type() == at::kFloat),
              "if_bits: discard");
  float* D = discard.numel() && p.has_floor ? discard.data_ptr<float>() : nullptr;
  const float* X = cur.data_ptr<float>();
  uint64_t* B = (uint64_t*)bits.data_ptr<int64_t>();
  int16_t* P = preds.numel() ? preds.data_ptr<int16_t>() : nullptr;
  const int64_t ps0 = P ? preds.stride(0) : 0, ps1 = P ? preds.stride(1) : 0;
  const int64_t chunk = P ? nw * 64 : 1024;
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    if (p.cal())
      if_rows<true>(X, cst, v, counts, r, D, p, B, P, ps0, ps1, tb, b, n, chunk, i0, i1);
    else
      if_rows<false>(X, cst, v, counts, r, D, p, B, P, ps0, ps1, tb, b, n, chunk, i0, i1);
  });
}

}  // namespace nmp
