#include "vgrow/support/device_transfer.h"

#include <torch/torch.h>

namespace vgrow {

torch::Tensor to_device(const torch::Tensor& host, torch::Device device) {
  if (!device.is_cuda() || !host.device().is_cpu()) return host.to(device);
  // The caching host allocator keeps the pinned block until the copy has finished.
  const auto pinned = host.is_pinned() ? host : host.pin_memory();
  return pinned.to(device, /*non_blocking=*/true);
}

}  // namespace vgrow
