#include "vgrow/models/channels_last.h"

#include <torch/torch.h>

namespace vgrow::models {

torch::Tensor to_channels_last(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "channels-last needs a 4-D tensor [N, C, H, W], got ", x.sizes());
  const auto nhwc = x.size(1) * x.size(3);
  if (x.stride(1) == 1 && x.stride(3) == x.size(1) && x.stride(2) == nhwc) {
    if (x.size(0) <= 1 || x.stride(0) == nhwc * x.size(2)) return x;
  }
  return torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::ChannelsLast))
      .copy_(x);
}

}  // namespace vgrow::models
