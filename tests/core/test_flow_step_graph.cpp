// The CUDA path. Every test here but one skips where LibTorch sees no GPU (CI, these CPU
// machines); scripts/gpu-check.sh runs them on a GPU machine. The one checks that a machine
// without a GPU ignores run.cuda_graphs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/support/device_transfer.h"
#include "vgrow/run/experiment.h"
#include "vgrow/core/flow_step_graph.h"
#include "vgrow/models/resnet.h"
#include "vgrow/core/particles.h"

namespace {

#define SKIP_WITHOUT_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

TEST(Cuda, PinnedNonBlockingCopyArrivesIntact) {
  SKIP_WITHOUT_CUDA();
  const auto host = torch::randn({1000, 7});
  const auto on_gpu = vgrow::to_device(host, torch::kCUDA);
  EXPECT_TRUE(on_gpu.is_cuda());
  EXPECT_TRUE(torch::equal(on_gpu.cpu(), host));  // .cpu() waits for the copy
}

// The same D, the same particles: one flow step on the GPU moves them as on the CPU.
TEST(Cuda, FlowStepMatchesTheCpu) {
  SKIP_WITHOUT_CUDA();
  auto d = vgrow::testing::settled_discriminator(
      5, vgrow::models::ResNetDiscriminatorOptions().width(16).channels(3));
  d->eval();
  auto d_gpu = std::dynamic_pointer_cast<vgrow::models::ResNetDiscriminatorImpl>(d->clone());
  d_gpu->to(torch::kCUDA);
  torch::nn::AnyModule cpu(d);
  torch::nn::AnyModule gpu{vgrow::models::ResNetDiscriminator(d_gpu)};
  const auto start = torch::rand({64, 3, 32, 32}) * 2 - 1;
  auto x_cpu = start.clone();
  auto x_gpu = start.to(torch::kCUDA);
  const auto kl = vgrow::Divergence::from_name("kl");
  const auto options = vgrow::FlowStepOptions().eta(1.0);
  vgrow::flow_step(cpu, x_cpu, kl, options);
  vgrow::flow_step(gpu, x_gpu, kl, options);
  EXPECT_TRUE(torch::allclose(x_gpu.cpu(), x_cpu, 1e-4, 1e-5))
      << "max difference " << (x_gpu.cpu() - x_cpu).abs().max().item<double>();
}

// Outer loops on the GPU in each precision: everything stays on the device, the pool stays
// fp32, the numbers stay finite; fp16 brings its loss scalers.
TEST(Cuda, TrainerLoopsInEachPrecision) {
  SKIP_WITHOUT_CUDA();
  for (const std::string precision : {"fp32", "bf16", "fp16"}) {
    vgrow::Config c;
    vgrow::apply_toml_file(c, std::string(VGROW_SOURCE_DIR) + "/configs/toy-8gaussians.toml");
    c.run.device = "cuda";
    c.run.precision = precision;
    auto trainer = vgrow::make_trainer(c);
    for (int i = 0; i < 3; ++i) {
      const auto s = trainer->run_loop();
      EXPECT_TRUE(std::isfinite(s.d_loss_real) && std::isfinite(s.projection_loss)) << precision;
    }
    EXPECT_TRUE(trainer->pool().particles.is_cuda()) << precision;
    EXPECT_EQ(trainer->pool().particles.scalar_type(), torch::kFloat) << precision;
    EXPECT_EQ(trainer->d_loss_scaler() != nullptr, precision == "fp16") << precision;
    for (const auto& p : trainer->generator().ptr()->parameters()) {
      EXPECT_TRUE(p.is_cuda()) << precision;
    }
  }
}

// Where LibTorch sees no GPU (CI), asking for graphs changes nothing: the trainer's flow step
// runs eagerly, and building a FlowStepGraph by hand is refused with a reason.
TEST(Cuda, WithoutADeviceTheFlowStepRunsEagerly) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_FALSE(vgrow::FlowStepGraph::available());
  try {
    vgrow::FlowStepGraph graph(torch::nn::AnyModule(torch::nn::Linear(2, 1)),
                               vgrow::Divergence::from_name("kl"), vgrow::FlowStepOptions());
    ADD_FAILURE() << "a FlowStepGraph was built without a CUDA device";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("CUDA"), std::string::npos);
  }
  vgrow::Config c;
  vgrow::apply_toml_file(c, std::string(VGROW_SOURCE_DIR) + "/configs/toy-8gaussians.toml");
  vgrow::apply_override(c, "run.cuda_graphs=true");
  EXPECT_TRUE(vgrow::make_trainer_options(c).cuda_graphs);
  vgrow::apply_override(c, "run.cuda_graphs=false");
  EXPECT_FALSE(vgrow::make_trainer_options(c).cuda_graphs);
  c.run.cuda_graphs = true;
  c.run.device = "auto";
  auto trainer = vgrow::make_trainer(c);
  const auto s = trainer->run_loop();
  EXPECT_TRUE(std::isfinite(s.grad_norm) && s.grad_norm > 0);
  EXPECT_EQ(trainer->flow_graph(), nullptr);
}

// A ResNet D on the GPU in eval mode, as the trainer runs the flow step.
torch::nn::AnyModule gpu_discriminator() {
  auto d = vgrow::testing::settled_discriminator(
      9, vgrow::models::ResNetDiscriminatorOptions().width(16).channels(3));
  d->to(torch::kCUDA);
  d->eval();
  return torch::nn::AnyModule(d);
}

// Replayed graphs move the particles as the eager step does: two chunk lengths (64 and 8),
// the first step capturing, the second replaying, in fp32 and bf16.
TEST(Cuda, GraphedFlowStepMatchesTheEagerStep) {
  SKIP_WITHOUT_CUDA();
  for (const auto precision : {vgrow::Precision::fp32, vgrow::Precision::bf16}) {
    auto d = gpu_discriminator();
    const vgrow::Autocast autocast{precision, torch::kCUDA};
    const auto jeffreys = vgrow::Divergence::from_name("jeffreys");
    const auto options = vgrow::FlowStepOptions().eta(0.5).chunk_size(64);
    // Replays run the eager step's kernels; bf16 leaves room for a different kernel choice.
    const double tolerance = precision == vgrow::Precision::fp32 ? 1e-5 : 1e-3;
    auto eager = (torch::rand({200, 3, 32, 32}) * 2 - 1).to(torch::kCUDA);
    auto graphed = eager.clone();
    vgrow::FlowStepGraph graph(d, jeffreys, options, autocast);
    for (int step = 0; step < 2; ++step) {
      const auto e = vgrow::flow_step(d, eager, jeffreys, options, autocast);
      const auto g = graph.step(graphed);
      EXPECT_TRUE(torch::allclose(graphed, eager, tolerance, tolerance))
          << "step " << step << ": max difference " << (graphed - eager).abs().max().item<double>();
      EXPECT_NEAR(g.mean_grad_norm.item<double>(), e.mean_grad_norm.item<double>(),
                  tolerance * e.mean_grad_norm.item<double>());
      EXPECT_NEAR(g.mean_d.item<double>(), e.mean_d.item<double>(), tolerance);
    }
    EXPECT_EQ(graph.captured(), 2u);
    EXPECT_EQ(graph.fallback_reason(), "");
  }
}

// A graph reads D's weights where they live: an in-place update (what the optimiser does
// between flow steps) changes what the replay computes, exactly as it changes the eager step.
TEST(Cuda, GraphedFlowStepSeesInPlaceWeightUpdates) {
  SKIP_WITHOUT_CUDA();
  auto d = gpu_discriminator();
  const auto kl = vgrow::Divergence::from_name("kl");
  const auto options = vgrow::FlowStepOptions().eta(1.0);
  vgrow::FlowStepGraph graph(d, kl, options);
  auto warm = (torch::rand({64, 3, 32, 32}) * 2 - 1).to(torch::kCUDA);
  graph.step(warm);  // captured with the old weights
  {
    torch::NoGradGuard no_grad;
    for (auto& p : d.ptr()->parameters()) p.add_(torch::randn_like(p) * 0.1);
  }
  auto eager = (torch::rand({64, 3, 32, 32}) * 2 - 1).to(torch::kCUDA);
  auto graphed = eager.clone();
  vgrow::flow_step(d, eager, kl, options);
  graph.step(graphed);
  EXPECT_TRUE(torch::allclose(graphed, eager, 1e-5, 1e-5))
      << "max difference " << (graphed - eager).abs().max().item<double>();
}

// Whole outer loops with and without graphs draw the same numbers and end with the same pool;
// a new eta drops the captured graphs (it is baked into them).
TEST(Cuda, TrainerLoopsWithAndWithoutGraphsAgree) {
  SKIP_WITHOUT_CUDA();
  std::vector<torch::Tensor> pools;
  for (const bool graphs : {false, true}) {
    vgrow::Config c;
    vgrow::apply_toml_file(c, std::string(VGROW_SOURCE_DIR) + "/configs/toy-8gaussians.toml");
    c.run.device = "cuda";
    c.run.cuda_graphs = graphs;
    auto trainer = vgrow::make_trainer(c);
    for (int i = 0; i < 3; ++i) trainer->run_loop();
    EXPECT_EQ(trainer->flow_graph() != nullptr, graphs);
    if (graphs) {
      EXPECT_GT(trainer->flow_graph()->captured(), 0u);
      trainer->set_eta(0.25);
      EXPECT_EQ(trainer->flow_graph(), nullptr);
    }
    pools.push_back(trainer->pool().particles.cpu());
  }
  EXPECT_TRUE(torch::allclose(pools[0], pools[1], 1e-4, 1e-5))
      << "max difference " << (pools[0] - pools[1]).abs().max().item<double>();
}

}  // namespace
