// The generator EMA against its closed form.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "vgrow/core/generator_average.h"

namespace {


// Cloneable, as vgrow's generators are.
struct CloneableTinyImpl : torch::nn::Cloneable<CloneableTinyImpl> {
  CloneableTinyImpl() { reset(); }
  void reset() override {
    linear = register_module("linear", torch::nn::Linear(3, 2));
    norm = register_module("norm", torch::nn::BatchNorm1d(2));
  }
  torch::Tensor forward(const torch::Tensor& z) { return norm(linear(z)); }
  torch::nn::Linear linear{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
};
TORCH_MODULE(CloneableTiny);

void perturb(CloneableTiny& g) {
  torch::NoGradGuard no_grad;
  for (auto& p : g->parameters()) p.add_(torch::randn_like(p));
  g->forward(torch::randn({8, 3}));  // train mode: moves BatchNorm's running statistics
}

TEST(GeneratorAverage, FollowsItsClosedFormAndCopiesBuffers) {
  torch::manual_seed(0);
  CloneableTiny g;
  torch::nn::AnyModule any(g);
  vgrow::GeneratorAverage average(any, 0.75);
  auto avg = average.module().ptr()->parameters()[0].clone();
  EXPECT_TRUE(torch::equal(avg, g->linear->weight));  // starts as a copy
  EXPECT_FALSE(average.module().ptr()->parameters()[0].requires_grad());
  // d_t = min(0.75, (1 + t) / (10 + t)): 0.1, 0.1818, ..., then 0.75 from t = 26 on.
  for (int t = 0; t < 30; ++t) {
    const double d = std::min(0.75, (1.0 + t) / (10.0 + t));
    EXPECT_DOUBLE_EQ(average.next_decay(), d);
    perturb(g);
    average.update(*g);
    avg = d * avg + (1 - d) * g->linear->weight.detach();
    ASSERT_TRUE(torch::allclose(average.module().ptr()->parameters()[0], avg, 1e-5, 1e-6)) << t;
  }
  EXPECT_DOUBLE_EQ(average.next_decay(), 0.75);
  EXPECT_EQ(average.updates(), 30);
  EXPECT_TRUE(torch::equal(average.module().ptr()->buffers()[0], g->norm->running_mean));
  // Its own tensors: changing G again leaves the average where it was.
  const auto kept = average.module().ptr()->parameters()[0].clone();
  perturb(g);
  EXPECT_TRUE(torch::equal(average.module().ptr()->parameters()[0], kept));
}

TEST(GeneratorAverage, DecayZeroIsTheGeneratorBitForBit) {
  torch::manual_seed(1);
  CloneableTiny g;
  torch::nn::AnyModule any(g);
  vgrow::GeneratorAverage average(any, 0.0);
  for (int i = 0; i < 3; ++i) {
    perturb(g);
    average.update(*g);
  }
  g->eval();
  const auto z = torch::randn({5, 3});
  EXPECT_TRUE(torch::equal(average.module().forward(z), g->forward(z)));
  EXPECT_THROW(vgrow::GeneratorAverage(any, 1.0), c10::Error);
}

}  // namespace
