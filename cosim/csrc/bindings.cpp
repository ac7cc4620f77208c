// Python bindings of the cosim kernels (the only file that includes torch/extension.h).
#include <torch/extension.h>

#include <string>

#include "common.h"
#include "kernels.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("if_bits", &nmp::if_bits, "IF update of one layer for a block of steps, bits out");
  m.def("pack_bits", &nmp::pack_bits, "(R, n) float spikes -> (R, ceil(n / 64)) int64 bits");
  m.def("unpack_bits", &nmp::unpack_bits, "bits -> (R, n) float 0/1");
  m.def("conv_cur", &nmp::conv_cur, "event-driven Conv2d current of spike bits");
  m.def("conv_if", &nmp::conv_if, "event-driven Conv2d fused with the next layer's IF update");
  m.def("conv_if_multi", &nmp::conv_if_multi,
        "conv_if for several neuron variants sharing the input spikes");
  m.def(
      "isa", [] { return std::string(NMP_ISA); },
      "instruction set of this build: avx512, avx2 or generic");
  m.def("linear_bits", &nmp::linear_bits, "event-driven Linear current of spike bits");
}
