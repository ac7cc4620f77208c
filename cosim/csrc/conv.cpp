// Event-driven Conv2d on spike bits: conv_cur (the current) and conv_if (fused with the next
// layer's IF update).
#include "kernels.h"
#include "neuron.h"

namespace nmp {
namespace {

// Weights (KH, KW, C, OM): the first output channels in whole vectors of 16 (zero-padded when
// O % 16 > 8); the last O % 16 <= 8 channels in a tail (KH, KW, C, TL), one vector of TL = 4 or
// 8 lanes (zero-padded; TL = 0 without a tail): few lanes wasted on padding.
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
template <int TL>
struct TailV {
  typedef v4 type;
};  // TL = 0: unused
template <>
struct TailV<8> {
  typedef v8 type;
};

struct Geo {  // input (H, W, C) channels-last; output (OH, OW, O)
  int64_t H, W, C, KH, KW, OM, TL, O, OH, OW, sh, sw, ph, pw, dh, dw;
};

static Geo make_geo(const at::Tensor& wm, const at::Tensor& wt, const std::vector<int64_t>& a) {
  TORCH_CHECK(a.size() == 14, "conv geometry: H, W, C, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, O");
  const Geo g{a[0],  a[1],  a[2], a[3], a[4], wm.size(3), wt.size(3), a[13],
              a[11], a[12], a[5], a[6], a[7], a[8],       a[9],       a[10]};
  TORCH_CHECK(wm.dim() == 4 && wt.dim() == 4 && wm.is_contiguous() && wt.is_contiguous() &&
                  wm.scalar_type() == at::kFloat && wt.scalar_type() == at::kFloat &&
                  wm.size(0) == g.KH && wm.size(1) == g.KW && wm.size(2) == g.C &&
                  wt.size(0) == g.KH && wt.size(1) == g.KW && wt.size(2) == g.C && g.OM % 16 == 0 &&
                  (g.TL == 0 || g.TL == 4 || g.TL == 8) && (g.TL == 0 || g.OM == g.O / 16 * 16) &&
                  g.OM + g.TL >= g.O,
              "conv weights");
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

// a[k] += WM[bm + j OM + VW k] (k < NV VPB: 16 NV channels), at += WT[bt + j TL ..] for the events
// e0 .. e1.
template <int NV, int TL>
static inline void add_events(vw* a, typename TailV<TL>::type& at, const float* WM, const float* WT,
                              int64_t bm, int64_t bt, int64_t OM, const int64_t* off, int32_t e0,
                              int32_t e1) {
  for (int32_t e = e0; e < e1; ++e) {
    const int64_t j = off[e];
    const float* w = WM + (bm + j * OM);
    for (int k = 0; k < NV * VPB; ++k) {
      vw t;
      __builtin_memcpy(&t, w + VW * k, sizeof(vw));
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
static void conv_pass(const float* WM, const float* WT, const int64_t* off, const int32_t* starts,
                      const Geo& g, int64_t oy, int64_t o0, float* acc) {
  typedef typename TailV<TL>::type tv;
  for (int64_t q = 0; q < g.OW * 64; ++q) acc[q] = 0.f;
  for (int64_t ky = 0; ky < g.KH; ++ky) {
    const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
    if (iy < 0 || iy >= g.H) continue;
    for (int64_t ox = 0; ox < g.OW; ++ox) {
      float* ac = acc + ox * 64;
      vw a[NV > 0 ? NV * VPB : 1];
      tv at = {};
      for (int k = 0; k < NV * VPB; ++k) __builtin_memcpy(&a[k], ac + VW * k, sizeof(vw));
      if (TL) __builtin_memcpy(&at, ac + 16 * NV, TL * sizeof(float));
      const int64_t x0 = ox * g.sw - g.pw;
      if (g.dw == 1) {  // taps kx = 0 .. KW-1 are input pixels x0 .. x0+KW-1: one run of events
        const int64_t xa = std::max<int64_t>(0, x0), xb = std::min<int64_t>(g.W, x0 + g.KW);
        if (xa < xb) {
          const int64_t q = ky * g.KW * g.C - (iy * g.W + x0) * g.C;
          add_events<NV, TL>(a, at, WM, WT, q * g.OM + o0, q * TL, g.OM, off, starts[iy * g.W + xa],
                             starts[iy * g.W + xb]);
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
      for (int k = 0; k < NV * VPB; ++k) __builtin_memcpy(ac + VW * k, &a[k], sizeof(vw));
      if (TL) __builtin_memcpy(ac + 16 * NV, &at, TL * sizeof(float));
    }
  }
}

// The passes by vectors of 16 channels (nv = 0 .. 4) and tail lanes (tl = 0, 4, 8): index
// nv * 3 + tl / 4.
using PassFn = void (*)(const float*, const float*, const int64_t*, const int32_t*, const Geo&,
                        int64_t, int64_t, float*);
const PassFn kPasses[15] = {nullptr,         conv_pass<0, 4>, conv_pass<0, 8>, conv_pass<1, 0>,
                            conv_pass<1, 4>, conv_pass<1, 8>, conv_pass<2, 0>, conv_pass<2, 4>,
                            conv_pass<2, 8>, conv_pass<3, 0>, conv_pass<3, 4>, conv_pass<3, 8>,
                            conv_pass<4, 0>, conv_pass<4, 4>, conv_pass<4, 8>};

// The current of output row oy: x[ox * O + o] = sum + bias[o]. acc: scratch of OW * 64 floats.
// Passes of 64 channels; the tail joins the last one.
static void conv_out_row(const float* WM, const float* WT, const float* BI, const int64_t* off,
                         const int32_t* starts, const Geo& g, int64_t oy, float* x, float* acc) {
  for (int64_t o0 = 0; o0 < g.O; o0 += 64) {
    const int nv = (int)std::min<int64_t>(4, std::max<int64_t>(0, (g.OM - o0) / 16));
    const int tl = o0 + 64 >= g.O ? (int)g.TL : 0;
    const PassFn pass = kPasses[nv * 3 + tl / 4];
    TORCH_CHECK(pass != nullptr, "conv pass without channels");
    pass(WM, WT, off, starts, g, oy, o0, acc);
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

}  // namespace

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

void conv_if_multi(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
                   const at::Tensor& bias, const std::vector<int64_t>& geo,
                   const std::vector<at::Tensor>& v, const std::vector<at::Tensor>& counts,
                   const std::vector<at::Tensor>& r, const std::vector<at::Tensor>& discard,
                   const std::vector<std::vector<at::Tensor>>& neuron,
                   const std::vector<int64_t>& flags, const std::vector<at::Tensor>& bits_out) {
  // Conv2d of the spikes in ``bits`` (rows t * b + i) fused with the IF update of the next
  // layer, for K neuron variants that share these input spikes: variant k has its own state
  // (v[k], counts[k], r[k], discard[k]: (b, OH OW O), as in if_bits), neuron[k] and flags
  // 3k .. 3k+2 (has_floor, reset_zero, refractory); its spikes go to bits_out[k] (rows t * b + i).
  // Samples in parallel; per sample, output row by output row, the steps in order: each step's
  // current of the row is computed once and used by every variant while in L1 (the rows'
  // membranes of all variants stay in L1/L2 for the block).
  const Geo g = make_geo(wm, wt, geo);
  const int64_t K = (int64_t)v.size();
  TORCH_CHECK(K >= 1 && (int64_t)counts.size() == K && (int64_t)r.size() == K &&
                  (int64_t)discard.size() == K && (int64_t)neuron.size() == K &&
                  (int64_t)flags.size() == 3 * K && (int64_t)bits_out.size() == K,
              "conv_if: one state, neuron, 3 flags and output per variant");
  const int64_t b = v[0].size(0), n = v[0].numel() / b, nwi = bits.size(1), nwo = n_words(n);
  const int64_t tb = bits.size(0) / b, m = g.OW * g.O, HW1 = g.H * g.W + 1;
  TORCH_CHECK(n == g.OH * g.OW * g.O && nwi == n_words(g.H * g.W * g.C) && bits.is_contiguous(),
              "conv_if: bad layout");
  std::vector<IFP> p;
  p.reserve(K);
  std::vector<float*> V(K), C(K), D(K);
  std::vector<int32_t*> RR(K);
  std::vector<uint64_t*> BO(K);
  for (int64_t k = 0; k < K; ++k) {
    TORCH_CHECK(v[k].size(0) == b && v[k].numel() == b * n && v[k].is_contiguous() &&
                    counts[k].is_contiguous() && counts[k].numel() == b * n &&
                    bits_out[k].is_contiguous() && bits_out[k].size(1) == nwo &&
                    bits_out[k].size(0) == tb * b,
                "conv_if: bad layout");
    p.push_back(make_ifp(neuron[k], flags[3 * k] != 0, flags[3 * k + 1] != 0, flags[3 * k + 2]));
    TORCH_CHECK(!p[k].ref || (r[k].is_contiguous() && r[k].numel() == b * n),
                "conv_if: refractory state");
    TORCH_CHECK(!discard[k].numel() || (discard[k].is_contiguous() && discard[k].numel() == b * n &&
                                        discard[k].scalar_type() == at::kFloat),
                "conv_if: discard");
    D[k] = discard[k].numel() && p[k].has_floor ? discard[k].data_ptr<float>() : nullptr;
    BO[k] = (uint64_t*)bits_out[k].data_ptr<int64_t>();
    V[k] = v[k].data_ptr<float>();
    C[k] = counts[k].data_ptr<float>();
    RR[k] = p[k].ref ? r[k].data_ptr<int32_t>() : nullptr;
  }
  const uint64_t* B = (const uint64_t*)bits.data_ptr<int64_t>();
  const float* WM = wm.data_ptr<float>();
  const float* WT = wt.data_ptr<float>();
  const float* BI = bias.data_ptr<float>();
  at::parallel_for(0, b, 1, [&](int64_t i0, int64_t i1) {
    ConvScratch s(g, tb);
    std::vector<int64_t> first(tb);  // step t's events start at s.off[first[t]]
    std::vector<IFS> st(K);
    Floats x(m);
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t k = 0; k < K; ++k) st[k] = sample_state(p[k], V[k], C[k], RR[k], D[k], i, n);
      int64_t tot = 0;
      for (int64_t t = 0; t < tb; ++t)
        for (int64_t w = 0; w < nwi; ++w) tot += __builtin_popcountll(B[(t * b + i) * nwi + w]);
      if ((int64_t)s.off.size() < tot) s.off.resize(tot);
      tot = 0;
      for (int64_t t = 0; t < tb; ++t) {
        first[t] = tot;
        int32_t* starts_t = s.starts.data() + t * HW1;
        row_events(B + (t * b + i) * nwi, g, s.off.data() + tot, starts_t);
        tot += starts_t[HW1 - 1];
        for (int64_t k = 0; k < K; ++k)
          std::memset(BO[k] + (t * b + i) * nwo, 0, nwo * sizeof(uint64_t));
      }
      for (int64_t oy = 0; oy < g.OH; ++oy)
        for (int64_t t = 0; t < tb; ++t) {
          conv_out_row(WM, WT, BI, s.off.data() + first[t], s.starts.data() + t * HW1, g, oy,
                       x.data(), s.acc.data());
          const int64_t j0 = oy * m;
          for (int64_t k = 0; k < K; ++k) {
            uint64_t* row = BO[k] + (t * b + i) * nwo;
            const IFP& pk = p[k];
            for (int64_t q = 0; q < m; q += 16) {
              const int l = (int)std::min<int64_t>(16, m - q);
              or_bits(row, j0 + q,
                      pk.cal() ? if16<true>(x.data() + q, st[k], pk, j0 + q, l)
                               : if16<false>(x.data() + q, st[k], pk, j0 + q, l));
            }
          }
        }
    }
  });
}

void conv_if(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
             const at::Tensor& bias, const std::vector<int64_t>& geo, at::Tensor v,
             at::Tensor counts, at::Tensor r, at::Tensor discard,
             const std::vector<at::Tensor>& neuron, bool has_floor, bool reset_zero,
             int64_t refractory, at::Tensor bits_out) {
  // conv_if_multi with one variant.
  conv_if_multi(bits, wm, wt, bias, geo, {v}, {counts}, {r}, {discard}, {neuron},
                {has_floor, reset_zero, refractory}, {bits_out});
}

}  // namespace nmp
