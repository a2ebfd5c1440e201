#pragma once
// Pixel values: the library's images are float32 in [-1, 1]; files hold uint8 [0, 255].

#include <torch/types.h>

namespace vgrow::io {

// uint8 [0, 255] -> float32 [-1, 1], and back (clamped and rounded).
torch::Tensor to_float(const torch::Tensor& images);
torch::Tensor to_uint8(const torch::Tensor& images);

}  // namespace vgrow::io
