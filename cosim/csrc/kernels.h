// The functions the cosim kernels export to Python (bindings.cpp); see cosim/kernels.py.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace nmp {

// neuron: threshold, floor, gain, transfer xs, transfer ys (float32, contiguous; per-neuron
// ones in the physical layout; gain/xs/ys empty when the identity). floor is absolute
// (IFNeuron.lower_bound x threshold) and only read when has_floor. discard: empty, or a float
// (b, n) accumulator of the charge the floor removes (sum of floor - v where v < floor).
void if_bits(const at::Tensor& cur, bool cst, at::Tensor v, at::Tensor counts, at::Tensor r,
             at::Tensor discard, const std::vector<at::Tensor>& neuron, bool has_floor,
             bool reset_zero, int64_t refractory, at::Tensor bits, at::Tensor preds);
at::Tensor pack_bits(const at::Tensor& x);
at::Tensor unpack_bits(const at::Tensor& bits, int64_t n, at::Tensor out);
at::Tensor conv_cur(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
                    const at::Tensor& bias, const std::vector<int64_t>& geo);
void conv_if(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
             const at::Tensor& bias, const std::vector<int64_t>& geo, at::Tensor v,
             at::Tensor counts, at::Tensor r, at::Tensor discard,
             const std::vector<at::Tensor>& neuron, bool has_floor, bool reset_zero,
             int64_t refractory, at::Tensor bits_out);
// conv_if for K neuron variants sharing the input spikes: per variant its state, neuron and
// flags 3k .. 3k+2 (has_floor, reset_zero, refractory steps) and its output bits.
void conv_if_multi(const at::Tensor& bits, const at::Tensor& wm, const at::Tensor& wt,
                   const at::Tensor& bias, const std::vector<int64_t>& geo,
                   const std::vector<at::Tensor>& v, const std::vector<at::Tensor>& counts,
                   const std::vector<at::Tensor>& r, const std::vector<at::Tensor>& discard,
                   const std::vector<std::vector<at::Tensor>>& neuron,
                   const std::vector<int64_t>& flags, const std::vector<at::Tensor>& bits_out);
at::Tensor linear_bits(const at::Tensor& bits, const at::Tensor& wt, const at::Tensor& bias,
                       int64_t O);

}  // namespace nmp
