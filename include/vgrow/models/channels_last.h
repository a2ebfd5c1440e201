#pragma once
// Activations in channels-last (NHWC) layout: oneDNN's NHWC convolution kernels skip the
// reorders to and from its blocked layout that every NCHW convolution pays, and at 32-128
// channels they ran 1.1-3x faster here (docs/benchmarks.md). A network switches its input once;
// convolutions, pooling and element-wise ops then keep the layout from layer to layer.

#include <torch/types.h>

namespace vgrow::models {

// x [N, C, H, W] laid out NHWC: a copy unless it already is. With C == 1 both layouts have the
// same bytes but LibTorch reads the strides as NCHW, and a first convolution would then
// choose NCHW for the whole network: the strides are set explicitly.
torch::Tensor to_channels_last(const torch::Tensor& x);

}  // namespace vgrow::models
