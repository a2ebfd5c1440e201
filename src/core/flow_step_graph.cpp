#include "vgrow/core/flow_step_graph.h"

#include <map>
#include <string>

#include <torch/torch.h>

#if VGROW_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vgrow {

#if VGROW_WITH_CUDA

namespace {

// One chunk length's graph and the static tensors its kernels read and write.
struct ChunkGraph {
  torch::Tensor input;
  ChunkFlow output;
  at::cuda::CUDAGraph graph;
};

// Makes `waiter` wait for everything queued so far on `stream`.
void wait_for(const c10::cuda::CUDAStream& waiter, const c10::cuda::CUDAStream& stream) {
  at::cuda::CUDAEvent queued;
  queued.record(stream);
  queued.block(waiter);
}

}  // namespace

struct FlowStepGraph::Impl {
  torch::nn::AnyModule discriminator;
  Divergence divergence;
  FlowStepOptions options;
  Autocast autocast;
  std::map<int64_t, std::unique_ptr<ChunkGraph>> graphs;  // by chunk length
  std::string fallback_reason;  // set when a capture failed: every chunk then runs eagerly

  ChunkFlow eager(const torch::Tensor& x) {
    return flow_chunk(discriminator, x, divergence, options, autocast);
  }

  // Captured on a side stream, as CUDA requires; replayed on the caller's stream. Null when
  // the capture fails.
  ChunkGraph* graph_for(const torch::Tensor& chunk) {
    if (!fallback_reason.empty()) return nullptr;
    auto& slot = graphs[chunk.size(0)];
    if (slot) return slot.get();
    auto g = std::make_unique<ChunkGraph>();
    g->input = chunk.detach().clone();
    const auto device = chunk.device().index();
    const auto caller = c10::cuda::getCurrentCUDAStream(device);
    const auto side = c10::cuda::getStreamFromPool(false, device);
    wait_for(side, caller);
    try {
      c10::cuda::CUDAStreamGuard on_side(side);
      // Off the graph first: cuBLAS and cuDNN handles, workspaces and algorithm choices are
      // made here, not inside the capture.
      for (int i = 0; i < 3; ++i) eager(g->input);
      torch::cuda::synchronize(device);
      g->graph.capture_begin();
      try {
        g->output = eager(g->input);
      } catch (...) {
        try {
          g->graph.capture_end();
        } catch (...) {
        }
        throw;
      }
      g->graph.capture_end();
    } catch (const std::exception& e) {
      wait_for(caller, side);
      graphs.erase(chunk.size(0));
      fallback_reason = e.what();
      TORCH_WARN("the flow step could not be captured as a CUDA graph; it runs eagerly: ",
                 fallback_reason);
      return nullptr;
    }
    wait_for(caller, side);
    slot = std::move(g);
    return slot.get();
  }
};

bool FlowStepGraph::available() { return torch::cuda::is_available(); }

FlowStepGraph::FlowStepGraph(torch::nn::AnyModule discriminator, Divergence divergence,
                             FlowStepOptions options, Autocast autocast)
    : impl_(std::make_unique<Impl>(
          Impl{std::move(discriminator), divergence, options, autocast, {}, {}})) {
  TORCH_CHECK(available(), "CUDA graphs need a CUDA device; LibTorch sees none");
  TORCH_CHECK(options.eta() > 0.0, "flow step size eta must be positive, got ", options.eta());
}

FlowStepStats FlowStepGraph::step(torch::Tensor& particles) {
  TORCH_CHECK(particles.is_cuda(), "FlowStepGraph moves CUDA particles, got ", particles.device());
  return flow_step_in_chunks(particles, impl_->options.chunk_size(), [&](const torch::Tensor& x) {
    auto* g = impl_->graph_for(x);
    if (!g) return impl_->eager(x);
    g->input.copy_(x);
    g->graph.replay();
    return g->output;
  });
}

size_t FlowStepGraph::captured() const { return impl_->graphs.size(); }

const std::string& FlowStepGraph::fallback_reason() const { return impl_->fallback_reason; }

#else  // LibTorch without CUDA: nothing to capture

struct FlowStepGraph::Impl {
  std::string fallback_reason;
};

bool FlowStepGraph::available() { return false; }

FlowStepGraph::FlowStepGraph(torch::nn::AnyModule, Divergence, FlowStepOptions, Autocast) {
  TORCH_CHECK(false, "CUDA graphs need LibTorch built with CUDA; this vgrow was built without");
}

FlowStepStats FlowStepGraph::step(torch::Tensor&) {
  TORCH_CHECK(false, "CUDA graphs need LibTorch built with CUDA");
}

size_t FlowStepGraph::captured() const { return 0; }

const std::string& FlowStepGraph::fallback_reason() const { return impl_->fallback_reason; }

#endif

FlowStepGraph::~FlowStepGraph() = default;

}  // namespace vgrow
