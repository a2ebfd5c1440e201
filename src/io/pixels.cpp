#include "vgrow/io/pixels.h"

#include <torch/torch.h>

namespace vgrow::io {

torch::Tensor to_float(const torch::Tensor& images) {
  TORCH_CHECK(images.defined() && images.scalar_type() == torch::kUInt8,
              "to_float needs uint8 images, got ",
              images.defined() ? c10::str(images.scalar_type()) : "none");
  return images.to(torch::kFloat32).div_(127.5).sub_(1.0);
}

torch::Tensor to_uint8(const torch::Tensor& images) {
  TORCH_CHECK(images.defined(), "to_uint8 got no tensor");
  if (images.scalar_type() == torch::kUInt8) return images;
  TORCH_CHECK(images.is_floating_point(), "to_uint8 needs uint8 or floating-point images, got ",
              images.scalar_type());
  return images.detach()
      .to(torch::kCPU, torch::kFloat32)
      .add(1.0)
      .mul_(127.5)
      .round_()
      .clamp_(0, 255)
      .to(torch::kUInt8);
}

}  // namespace vgrow::io
