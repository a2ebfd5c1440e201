#include "vgrow/models/resampling_conv.h"

#include <torch/torch.h>

#include "vgrow/models/flop_count.h"

namespace vgrow::models {
namespace {

// M W M^T over the last two dimensions of W [O, C, 3, 3] -> [O, C, 4, 4].
torch::Tensor sandwich(const torch::Tensor& weight, const torch::Tensor& m) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3,
              "a fused resampling conv needs a 3x3 kernel, got weight of shape ", weight.sizes());
  const auto mm = m.to(weight.options());
  return torch::matmul(torch::matmul(mm, weight), mm.t());
}

}  // namespace

torch::Tensor down_kernel(const torch::Tensor& weight) {
  // Output pixel o averages conv outputs 2o and 2o+1; tap p of the 4x4 window starting at
  // 2o-1 collects the 3x3 taps d with a + d = p for the offsets a in {0, 1}.
  const auto m = torch::tensor({{1.0, 0.0, 0.0}, {1.0, 1.0, 0.0}, {0.0, 1.0, 1.0}, {0.0, 0.0, 1.0}},
                               torch::kFloat64) * 0.5;
  return sandwich(weight, m);
}

torch::Tensor conv3x3_then_avgpool(const torch::Tensor& x, const torch::Tensor& weight,
                                   const torch::Tensor& bias) {
  TORCH_CHECK(x.size(-1) % 2 == 0 && x.size(-2) % 2 == 0,
              "2x2 average pooling needs even height and width, got ", x.sizes());
  auto out = torch::conv2d(x, down_kernel(weight), bias, /*stride=*/2, /*padding=*/1);
  count_conv(out, weight.size(1), 4, 4);
  return out;
}

torch::Tensor subpixel_kernel(const torch::Tensor& transposed_weight) {
  const auto& w = transposed_weight;
  TORCH_CHECK(w.dim() == 4 && w.size(2) == 4 && w.size(3) == 4,
              "a sub-pixel transposed conv needs a 4x4 kernel, got weight of shape ", w.sizes());
  // Output row 2m + a gathers input rows m + dy: for a = 0, dy = -1 via tap 3 and dy = 0 via
  // tap 1; for a = 1, dy = 0 via tap 2 and dy = +1 via tap 0 (the same for columns).
  auto s = torch::zeros({2, 3, 4}, w.options());
  {
    torch::NoGradGuard no_grad;
    s[0][0][3] = 1;
    s[0][1][1] = 1;
    s[1][1][2] = 1;
    s[1][2][0] = 1;
  }
  // [O, a, b, C, 3, 3]: output channel o * 4 + a * 2 + b is what pixel_shuffle puts at (a, b).
  return torch::einsum("ary,ioyx,bcx->oabirc", {s, w, s}).reshape({w.size(1) * 4, w.size(0), 3, 3});
}

torch::Tensor conv_transpose4x4_stride2(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias) {
  const auto b = bias.defined() ? bias.repeat_interleave(4) : bias;
  auto out = torch::pixel_shuffle(torch::conv2d(x, subpixel_kernel(weight), b, 1, 1), 2);
  count_conv_transpose(x, weight.size(1), 4, 4);
  return out;
}

}  // namespace vgrow::models
