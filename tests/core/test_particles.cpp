#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "vgrow/models/mlp.h"
#include "vgrow/core/particles.h"
#include "vgrow/core/projection.h"

namespace {

using vgrow::Divergence;

using vgrow::testing::small_mlp_discriminator;

// Per-sample gradient of a generator loss with respect to the samples.
torch::Tensor loss_gradient(torch::nn::AnyModule& d, const torch::Tensor& x,
                            const std::function<torch::Tensor(torch::Tensor)>& loss) {
  auto xg = x.detach().requires_grad_(true);
  return torch::autograd::grad({loss(d.forward(xg)).sum()}, {xg})[0];
}

// JS: the minimax GAN generator loss log(1 - sigmoid(D)); the flow moves down its gradient.
TEST(FlowStep, JSVelocityIsMinimaxGeneratorGradient) {
  auto d = small_mlp_discriminator(6);
  const auto x = torch::randn({32, 6});
  const auto v = vgrow::flow_velocity(d, x, Divergence::from_name("js")).along();
  const auto g = loss_gradient(d, x, [](torch::Tensor y) { return torch::log1p(-torch::sigmoid(y)); });
  EXPECT_TRUE(torch::allclose(v, -g, 1e-5, 1e-6));
}

// logD: the non-saturating loss -log sigmoid(D).
TEST(FlowStep, LogDVelocityIsNonSaturatingGeneratorGradient) {
  auto d = small_mlp_discriminator(6);
  const auto x = torch::randn({32, 6});
  const auto v = vgrow::flow_velocity(d, x, Divergence::from_name("logd")).along();
  const auto g = loss_gradient(d, x, [](torch::Tensor y) { return -torch::log_sigmoid(y); });
  EXPECT_TRUE(torch::allclose(v, -g, 1e-5, 1e-6));
}

// The chunked in-place step equals the plain formula on the whole pool at once.
TEST(FlowStep, ChunkedStepEqualsWholePoolFormula) {
  auto d = small_mlp_discriminator(6);
  auto pool = torch::rand({100, 6}) * 2 - 1;
  const auto before = pool.clone();
  const auto div = Divergence::from_name("jeffreys");
  auto xg = before.clone().requires_grad_(true);
  const auto dx = d.forward(xg);
  const auto grad = torch::autograd::grad({dx.sum()}, {xg})[0];
  const auto expected = (before + 0.5 * div.velocity_scale(dx.detach()).unsqueeze(1) * grad).clamp(-1, 1);
  const auto stats = vgrow::flow_step(d, pool, div, vgrow::FlowStepOptions().eta(0.5).chunk_size(7));
  EXPECT_TRUE(torch::allclose(pool, expected, 1e-5, 1e-6));
  EXPECT_NEAR(stats.mean_grad_norm.item<double>(), grad.norm(2, 1).mean().item<double>(), 1e-5);
}

TEST(FlowStep, NoClampForUnboundedData) {
  auto d = small_mlp_discriminator(6);
  auto pool = torch::full({10, 6}, 5.0);
  vgrow::flow_step(d, pool, Divergence::from_name("kl"),
                   vgrow::FlowStepOptions().clamp_min(std::nullopt).clamp_max(std::nullopt));
  EXPECT_GT(pool.abs().max().item<double>(), 1.0);
}

TEST(FlowStep, NegativeStepSizeIsRefused) {
  auto d = small_mlp_discriminator(6);
  auto pool = torch::zeros({4, 6});
  EXPECT_THROW(vgrow::flow_step(d, pool, Divergence::from_name("kl"),
                                vgrow::FlowStepOptions().eta(-0.1)),
               c10::Error);
}

TEST(Projection, PaperSchedules) {
  const auto m = vgrow::ProjectionSchedule::paper_mnist();
  EXPECT_EQ(m.passes_at(0), 5);
  EXPECT_EQ(m.passes_at(199), 5);
  EXPECT_EQ(m.passes_at(200), 10);
  EXPECT_EQ(m.passes_at(1499), 15);
  EXPECT_EQ(m.passes_at(5000), 20);
  const auto c = vgrow::ProjectionSchedule::paper_cifar10();
  EXPECT_EQ(c.passes_at(599), 5);
  EXPECT_EQ(c.passes_at(600), 10);
  EXPECT_EQ(c.passes_at(2999), 15);
  EXPECT_EQ(c.passes_at(3000), 20);
}

// Regression onto fixed targets drives the MSE down.
TEST(Projection, GeneratorFitsMovedParticles) {
  torch::manual_seed(3);
  vgrow::models::MLPGenerator g(vgrow::models::MLPGeneratorOptions().latent_dim(4).hidden(32));
  torch::nn::AnyModule gen(g);
  torch::optim::Adam opt(g->parameters(), 1e-2);
  const auto z = torch::randn({256, 4});
  const auto target = torch::stack({z.select(1, 0) * 2, z.select(1, 1) - z.select(1, 2)}, 1);
  const double first = vgrow::project_generator(gen, opt, z, target, 1, 64).item<double>();
  const double later = vgrow::project_generator(gen, opt, z, target, 30, 64).item<double>();
  EXPECT_LT(later, 0.2 * first);
}

}  // namespace
