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

}  // namespace vgrow::models
