#pragma once
// Host tensors (real batches, latents, shuffles: drawn on the CPU so a run draws the same
// numbers on any device) reach the GPU without stalling the host.

#include <torch/types.h>

namespace vgrow {

// CUDA: through page-locked (pinned) memory with a non-blocking copy, so the host queues
// the next kernels instead of waiting for the copy (a copy from pageable memory waits for
// the device). Any other device: a plain copy, or `host` itself when already there.
torch::Tensor to_device(const torch::Tensor& host, torch::Device device);

}  // namespace vgrow
