// The GAN baselines: their generator losses, how they relate to the JS and logD flows, and one
// generator step that moves G alone.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/core/adversarial.h"
#include "vgrow/core/particles.h"
#include "model_helpers.h"
#include "vgrow/models/mlp.h"

namespace {

using vgrow::TrainingMethod;

using vgrow::testing::small_mlp_discriminator;

TEST(Adversarial, GeneratorLossesInClosedForm) {
  // Within +-10 the literal formulas are exact to 1e-9 in double; beyond, 1 - sigmoid(D) loses
  // digits, which is why the losses use softplus.
  const auto d = torch::linspace(-10, 10, 41, torch::kFloat64);
  const auto sigmoid = 1 / (1 + (-d).exp());
  // minimax: E[log(1 - sigmoid D)]; non-saturating: -E[log sigmoid D].
  EXPECT_TRUE(torch::allclose(vgrow::generator_loss(TrainingMethod::GanMinimax, d),
                              (1 - sigmoid).log().mean(), 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(vgrow::generator_loss(TrainingMethod::GanNonSaturating, d),
                              -sigmoid.log().mean(), 1e-9, 1e-9));
  const auto far = torch::tensor({-1e4, 1e4});
  for (const auto method : {TrainingMethod::GanMinimax, TrainingMethod::GanNonSaturating}) {
    EXPECT_TRUE(std::isfinite(vgrow::generator_loss(method, far).item<double>()));
  }
  EXPECT_THROW(vgrow::generator_loss(TrainingMethod::VGrow, d), c10::Error);
}

// The paper's link: minimising the minimax loss moves each sample along the JS flow's
// velocity, the non-saturating loss along the logD flow's (up to the 1/n of a mean).
TEST(Adversarial, TheGeneratorGradientIsTheJsOrLogDFlowVelocity) {
  auto d = small_mlp_discriminator(2);
  const auto x = torch::randn({32, 2});
  for (const auto& [method, divergence] :
       {std::pair{TrainingMethod::GanMinimax, "js"},
        std::pair{TrainingMethod::GanNonSaturating, "logd"}}) {
    auto xg = x.clone().requires_grad_(true);
    const auto loss = vgrow::generator_loss(method, d.forward(xg));
    const auto grad = torch::autograd::grad({loss}, {xg})[0];
    const auto v = vgrow::flow_velocity(d, x, vgrow::Divergence::from_name(divergence)).along();
    EXPECT_TRUE(torch::allclose(-grad * x.size(0), v, 1e-5, 1e-6)) << divergence;
  }
}

TEST(Adversarial, OneGeneratorStepMovesGAloneDownItsLoss) {
  auto d = small_mlp_discriminator(2);
  torch::manual_seed(3);
  auto g = torch::nn::AnyModule(vgrow::models::MLPGenerator(
      vgrow::models::MLPGeneratorOptions().latent_dim(4).hidden(16).layers(2)));
  const auto z = torch::randn({64, 4});
  for (const auto method : {TrainingMethod::GanMinimax, TrainingMethod::GanNonSaturating}) {
    torch::optim::SGD optimizer(g.ptr()->parameters(), torch::optim::SGDOptions(1e-2));
    const auto d_before = d.ptr()->parameters()[0].clone();
    const auto before = vgrow::generator_loss(method, d.forward(g.forward(z))).item<double>();
    const auto reported =
        vgrow::adversarial_generator_step(method, g, d, optimizer, z).item<double>();
    const auto after = vgrow::generator_loss(method, d.forward(g.forward(z))).item<double>();
    EXPECT_DOUBLE_EQ(reported, before);
    EXPECT_LT(after, before) << vgrow::training_method_name(method);
    EXPECT_TRUE(torch::equal(d.ptr()->parameters()[0], d_before));
    for (const auto& p : d.ptr()->parameters()) {
      EXPECT_FALSE(p.grad().defined() && p.grad().abs().sum().item<double>() > 0)
          << "D's gradients are left alone";
    }
  }
}

TEST(Adversarial, MethodNamesRoundTripAndUnknownOnesAreNamed) {
  for (const auto& name : vgrow::training_method_names()) {
    EXPECT_EQ(vgrow::training_method_name(vgrow::training_method_from_name(name)), name);
  }
  try {
    vgrow::training_method_from_name("wgan");
    FAIL() << "wgan accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("unknown training method 'wgan' "
                                                             "(known: vgrow, gan, gan-ns)"),
              std::string::npos)
        << e.what_without_backtrace();
  }
}

}  // namespace
