// The CUDA path. Every test here skips where LibTorch sees no GPU (CI, these CPU machines);
// scripts/gpu-check.sh runs them on a GPU machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "vgrow/config.h"
#include "vgrow/device_transfer.h"
#include "vgrow/experiment.h"
#include "vgrow/models/resnet.h"
#include "vgrow/particles.h"

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

}  // namespace
