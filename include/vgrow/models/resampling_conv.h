#pragma once
// An exact rewrite of the discriminator's down-sampling convolution with fewer
// multiply-adds:
//
//   avg_pool2d(conv2d(x, W, pad 1), 2)  ==  conv2d(x, K(W), stride 2, pad 1)
//
// with the 4x4 kernel K = M W M^T (per output/input channel pair): each 3x3 tap shifted by
// the four pooling offsets and averaged. Each pooled pixel then costs 16 multiply-adds per
// channel pair instead of 4 x 9 = 36: 2.25x fewer. K is linear in W, so gradients flow to W
// (and through spectral norm) unchanged; results equal the plain form up to float rounding
// (tests/test_optimised_equals_plain.cpp). The generator's mirror image (nearest upsampling
// then 3x3 conv as a 4x4 transposed conv) is exact too but measured 2.8x slower in oneDNN's
// transposed convolution, so the generator keeps the plain form.

#include <torch/types.h>

namespace vgrow::models {

// 4x4 kernel of "3x3 conv (pad 1), then 2x2 average pooling". weight: [O, C, 3, 3].
torch::Tensor down_kernel(const torch::Tensor& weight);
// avg_pool2d(conv2d(x, weight, bias, 1, 1), 2) for even H, W.
torch::Tensor conv3x3_then_avgpool(const torch::Tensor& x, const torch::Tensor& weight,
                                   const torch::Tensor& bias = {});

}  // namespace vgrow::models
