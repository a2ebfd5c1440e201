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
// then 3x3 conv as a 4x4 transposed conv) is exact too but measured 2.8x slower: LibTorch
// 1.13 has no oneDNN transposed convolution on the CPU (it runs one BLAS product per image),
// so the ResNet generator keeps the plain form.
//
// For the same reason the DCGAN generator's 4x4 stride-2 transposed convolution runs as its
// sub-pixel form, a 3x3 convolution with 4x the output channels (one group per output
// phase) followed by a 2x2 pixel shuffle:
//
//   conv_transpose2d(x, W, stride 2, pad 1)  ==  pixel_shuffle(conv2d(x, P(W), pad 1), 2)
//
// P(W) places, for each phase (a, b) of the output grid, the 2x2 taps of W that reach it. It
// does 2.25x the multiply-adds (5 of the 9 taps are zero), but in oneDNN: 2.4x faster for
// forward + backward at width 32 here.

#include <torch/types.h>

namespace vgrow::models {

// 4x4 kernel of "3x3 conv (pad 1), then 2x2 average pooling". weight: [O, C, 3, 3].
torch::Tensor down_kernel(const torch::Tensor& weight);
// avg_pool2d(conv2d(x, weight, bias, 1, 1), 2) for even H, W.
torch::Tensor conv3x3_then_avgpool(const torch::Tensor& x, const torch::Tensor& weight,
                                   const torch::Tensor& bias = {});

// 3x3 kernel [4 O, C, 3, 3] of the sub-pixel form; weight: [C, O, 4, 4] (transposed conv).
torch::Tensor subpixel_kernel(const torch::Tensor& transposed_weight);
// conv_transpose2d(x, weight, bias, stride 2, padding 1) for a 4x4 kernel, as above.
torch::Tensor conv_transpose4x4_stride2(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias = {});

}  // namespace vgrow::models
