#pragma once
// The flow step replayed from CUDA graphs. One chunk's D forward and input-gradient backward
// are a few hundred kernels, each too small to keep a large GPU busy; launched one by one
// from the host, the launches and not the arithmetic set the pace. A captured graph
// launches them all at once.

#include <memory>
#include <string>

#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

#include "vgrow/core/divergence.h"
#include "vgrow/support/mixed_precision.h"
#include "vgrow/core/particles.h"

namespace vgrow {

class FlowStepGraph {
 public:
  // Whether this build can capture CUDA graphs (LibTorch built with CUDA) and sees a GPU.
  static bool available();

  // D must stay in eval mode (no buffer updates) and keep its tensors: a graph holds their
  // addresses. In-place optimiser updates are seen; a load that replaces them needs a new
  // FlowStepGraph, as does a new eta, divergence or precision (they are baked in).
  FlowStepGraph(torch::nn::AnyModule discriminator, Divergence divergence,
                FlowStepOptions options, Autocast autocast = {});
  ~FlowStepGraph();
  FlowStepGraph(const FlowStepGraph&) = delete;
  FlowStepGraph& operator=(const FlowStepGraph&) = delete;

  // flow_step() on CUDA particles: each chunk length is captured on first use (after a
  // warm-up off the graph), then replayed on static copies of the chunks. Should a capture
  // fail, a warning says why and every chunk from then on runs eagerly.
  FlowStepStats step(torch::Tensor& particles);

  // Graphs captured so far: one per distinct chunk length.
  size_t captured() const;
  // Why capturing failed; empty while graphs are in use.
  const std::string& fallback_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgrow
