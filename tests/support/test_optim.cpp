// Optimisers by name and the step learning-rate decay in outer-loop units.
#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_helpers.h"
#include "vgrow/support/optim.h"

namespace {

using ::testing::HasSubstr;
using vgrow::MultiStepLR;
using vgrow::OptimizerConfig;
using vgrow::testing::error_of;

std::vector<torch::Tensor> some_parameters() {
  return {torch::zeros({3}, torch::requires_grad()), torch::zeros({2, 2}, torch::requires_grad())};
}

OptimizerConfig config(const std::string& name, double lr) {
  OptimizerConfig c;
  c.name = name;
  c.lr = lr;
  return c;
}

double lr_of(torch::optim::Optimizer& optimizer, size_t group = 0) {
  return optimizer.param_groups().at(group).options().get_lr();
}

TEST(MakeOptimizer, RmspropTakesEveryOption) {
  auto c = config("rmsprop", 3e-4);
  c.alpha = 0.9;
  c.eps = 1e-6;
  const auto params = some_parameters();
  auto optimizer = vgrow::make_optimizer(params, c);
  auto* rmsprop = dynamic_cast<torch::optim::RMSprop*>(optimizer.get());
  ASSERT_NE(rmsprop, nullptr);
  ASSERT_EQ(rmsprop->param_groups().size(), 1u);
  EXPECT_EQ(rmsprop->param_groups()[0].params().size(), params.size());
  const auto& o =
      static_cast<const torch::optim::RMSpropOptions&>(rmsprop->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(o.lr(), 3e-4);
  EXPECT_DOUBLE_EQ(o.alpha(), 0.9);
  EXPECT_DOUBLE_EQ(o.eps(), 1e-6);
  EXPECT_DOUBLE_EQ(o.momentum(), 0.0);
  EXPECT_FALSE(o.centered());
}

TEST(MakeOptimizer, AdamTakesEveryOption) {
  auto c = config("adam", 2e-3);
  c.beta1 = 0.5;
  c.beta2 = 0.9;
  c.eps = 1e-7;
  auto optimizer = vgrow::make_optimizer(some_parameters(), c);
  auto* adam = dynamic_cast<torch::optim::Adam*>(optimizer.get());
  ASSERT_NE(adam, nullptr);
  const auto& o = static_cast<const torch::optim::AdamOptions&>(adam->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(o.lr(), 2e-3);
  EXPECT_DOUBLE_EQ(std::get<0>(o.betas()), 0.5);
  EXPECT_DOUBLE_EQ(std::get<1>(o.betas()), 0.9);
  EXPECT_DOUBLE_EQ(o.eps(), 1e-7);
  EXPECT_DOUBLE_EQ(o.weight_decay(), 0.0);
  EXPECT_FALSE(o.amsgrad());
}

// The factory's optimiser really trains the tensors it was given.
TEST(MakeOptimizer, StepsTheGivenParameters) {
  for (const auto* name : {"rmsprop", "adam"}) {
    auto x = torch::ones({4}, torch::requires_grad());
    auto optimizer = vgrow::make_optimizer({x}, config(name, 0.1));
    optimizer->zero_grad();
    x.pow(2).sum().backward();
    optimizer->step();
    EXPECT_LT(x.max().item<double>(), 1.0) << name;
  }
}

TEST(MakeOptimizer, BadOptionsAreRefusedWithTheValue) {
  EXPECT_THAT(error_of([] { vgrow::make_optimizer(some_parameters(), config("sgd", 1e-3)); }),
              HasSubstr("unknown optimizer 'sgd' (known: rmsprop, adam)"));
  EXPECT_THAT(error_of([] { vgrow::make_optimizer(some_parameters(), config("adam", 0.0)); }),
              HasSubstr("learning rate must be positive, got 0"));
  EXPECT_THAT(error_of([] { vgrow::make_optimizer(some_parameters(), config("rmsprop", -1.0)); }),
              HasSubstr("learning rate must be positive, got -1"));
  EXPECT_THAT(error_of([] {
                vgrow::make_optimizer(some_parameters(),
                                      config("adam", std::numeric_limits<double>::infinity()));
              }),
              HasSubstr("learning rate must be positive"));
  EXPECT_THAT(error_of([] {
                vgrow::make_optimizer(some_parameters(),
                                      config("adam", std::numeric_limits<double>::quiet_NaN()));
              }),
              HasSubstr("learning rate must be positive"));
}

TEST(MultiStepLR, DecaysByGammaAtEachMilestone) {
  auto optimizer = vgrow::make_optimizer(some_parameters(), config("adam", 1.0));
  const MultiStepLR schedule(*optimizer, {2, 5}, 0.1);
  EXPECT_DOUBLE_EQ(schedule.lr_at(0), 1.0);
  EXPECT_DOUBLE_EQ(schedule.lr_at(1), 1.0);
  EXPECT_DOUBLE_EQ(schedule.lr_at(2), 0.1);  // a milestone counts from its own loop on
  EXPECT_DOUBLE_EQ(schedule.lr_at(4), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lr_at(5), 0.01);
  EXPECT_DOUBLE_EQ(schedule.lr_at(1000), 0.01);
}

TEST(MultiStepLR, NoMilestonesKeepsTheBaseRate) {
  auto optimizer = vgrow::make_optimizer(some_parameters(), config("rmsprop", 5e-4));
  MultiStepLR schedule(*optimizer, {}, 0.5);
  for (int64_t loop : {0, 1, 100, 100000}) EXPECT_DOUBLE_EQ(schedule.lr_at(loop), 5e-4);
  schedule.apply(100);
  EXPECT_DOUBLE_EQ(lr_of(*optimizer), 5e-4);
}

// Milestones count however they are listed; a repeated one decays twice (as PyTorch's).
TEST(MultiStepLR, UnsortedAndRepeatedMilestones) {
  auto optimizer = vgrow::make_optimizer(some_parameters(), config("adam", 1.0));
  const MultiStepLR unsorted(*optimizer, {5, 2}, 0.5);
  EXPECT_DOUBLE_EQ(unsorted.lr_at(1), 1.0);
  EXPECT_DOUBLE_EQ(unsorted.lr_at(3), 0.5);
  EXPECT_DOUBLE_EQ(unsorted.lr_at(5), 0.25);
  const MultiStepLR repeated(*optimizer, {3, 3}, 0.5);
  EXPECT_DOUBLE_EQ(repeated.lr_at(2), 1.0);
  EXPECT_DOUBLE_EQ(repeated.lr_at(3), 0.25);
}

TEST(MultiStepLR, ApplySetsTheRateOfEveryGroup) {
  auto a = torch::zeros({2}, torch::requires_grad());
  auto b = torch::zeros({3}, torch::requires_grad());
  torch::optim::Adam optimizer(std::vector<torch::optim::OptimizerParamGroup>{
                                   torch::optim::OptimizerParamGroup({a}),
                                   torch::optim::OptimizerParamGroup({b})},
                               torch::optim::AdamOptions(0.2));
  MultiStepLR schedule(optimizer, {1}, 0.5);
  schedule.apply(0);
  EXPECT_DOUBLE_EQ(lr_of(optimizer, 0), 0.2);
  EXPECT_DOUBLE_EQ(lr_of(optimizer, 1), 0.2);
  schedule.apply(1);
  EXPECT_DOUBLE_EQ(lr_of(optimizer, 0), 0.1);
  EXPECT_DOUBLE_EQ(lr_of(optimizer, 1), 0.1);
}

// The rate is a function of the loop alone: applying a loop twice does not decay twice, and a
// schedule made after a resume (from the optimiser's base rate) gives the rate of the
// uninterrupted run with no state of its own to checkpoint.
TEST(MultiStepLR, RateDependsOnTheLoopAlone) {
  auto optimizer = vgrow::make_optimizer(some_parameters(), config("adam", 0.8));
  MultiStepLR schedule(*optimizer, {1, 3}, 0.5);
  for (int64_t loop = 0; loop < 5; ++loop) schedule.apply(loop);
  EXPECT_DOUBLE_EQ(lr_of(*optimizer), 0.2);
  schedule.apply(4);
  EXPECT_DOUBLE_EQ(lr_of(*optimizer), 0.2);
  EXPECT_DOUBLE_EQ(schedule.lr_at(0), 0.8);  // relative to the rate at construction

  auto resumed = vgrow::make_optimizer(some_parameters(), config("adam", 0.8));
  MultiStepLR fresh(*resumed, {1, 3}, 0.5);
  fresh.apply(4);
  EXPECT_DOUBLE_EQ(lr_of(*resumed), lr_of(*optimizer));
  // Going back to an earlier loop restores its rate.
  schedule.apply(0);
  EXPECT_DOUBLE_EQ(lr_of(*optimizer), 0.8);
}

}  // namespace
