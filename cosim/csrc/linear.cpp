// Event-driven Linear on spike bits.
#include "common.h"
#include "kernels.h"

namespace nmp {
namespace {

// One block of 16 NV output columns: y (R, 16 NV) contiguous, so the block's sums stay in L2.
template <int NV>
static void linear_block(const float* WT, int64_t OP, const float* BI, int64_t o0,
                         const std::vector<int32_t>& active, const std::vector<int64_t>& cnt,
                         const std::vector<int32_t>& rows, int64_t R, float* y) {
  constexpr int NW = NV * VPB;  // vectors per row of the block
  vw b[NW];
  for (int k = 0; k < NW; ++k) __builtin_memcpy(&b[k], BI + o0 + VW * k, sizeof(vw));
  for (int64_t r = 0; r < R; ++r)
    for (int k = 0; k < NW; ++k) __builtin_memcpy(y + r * NV * 16 + VW * k, &b[k], sizeof(vw));
  for (const int32_t j : active) {
    vw w[NW];
    for (int k = 0; k < NW; ++k)
      __builtin_memcpy(&w[k], WT + (int64_t)j * OP + o0 + VW * k, sizeof(vw));
    const int64_t e1 = cnt[j + 1];
    for (int64_t e = cnt[j]; e < e1; ++e) {
      if (e + 8 < e1) {  // the rows are scattered over the block's sums (L2)
        const float* ya = y + (int64_t)rows[e + 8] * NV * 16;
        for (int k = 0; k < NV; ++k) __builtin_prefetch(ya + 16 * k, 1);
      }
      float* yr = y + (int64_t)rows[e] * NV * 16;
      for (int k = 0; k < NW; ++k) {
        vw a;
        __builtin_memcpy(&a, yr + VW * k, sizeof(vw));
        a += w[k];
        __builtin_memcpy(yr + VW * k, &a, sizeof(vw));
      }
    }
  }
}

}  // namespace

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
  for (int64_t j = 0; j < N; ++j)
    if (cnt[j + 1] > cnt[j]) active.push_back((int32_t)j);
  const int64_t nb = (OP + 63) / 64;
  at::parallel_for(0, nb, 1, [&](int64_t q0, int64_t q1) {
    Floats y(R * 64);
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t o0 = q * 64;
      const int nv = (int)std::min<int64_t>(4, (OP - o0) / 16);
      switch (nv) {
        case 1:
          linear_block<1>(WT, OP, BI, o0, active, cnt, rows, R, y.data());
          break;
        case 2:
          linear_block<2>(WT, OP, BI, o0, active, cnt, rows, R, y.data());
          break;
        case 3:
          linear_block<3>(WT, OP, BI, o0, active, cnt, rows, R, y.data());
          break;
        default:
          linear_block<4>(WT, OP, BI, o0, active, cnt, rows, R, y.data());
          break;
      }
      const int64_t len = std::min<int64_t>(16 * nv, O - o0);
      for (int64_t r = 0; r < R; ++r)
        std::memcpy(Y + r * O + o0, y.data() + r * 16 * nv, len * sizeof(float));
    }
  });
  return out;
}

}  // namespace nmp
