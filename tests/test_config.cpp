#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/config.h"

namespace {

using vgrow::Config;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(Config, DefaultsAreValidAndRoundTripThroughToml) {
  Config c;
  vgrow::validate(c);
  c.flow.eta = 0.25;
  c.optim.milestones = {1, 2};
  c.run.name = "x";
  Config back;
  vgrow::apply_toml(back, vgrow::to_toml(c), "roundtrip");
  EXPECT_TRUE(vgrow::config_differences(c, back).empty());
  EXPECT_EQ(back.flow.eta, 0.25);
}

TEST(Config, OverridesParseTomlValuesAndBareWords) {
  Config c;
  vgrow::apply_override(c, "flow.divergence=js");
  vgrow::apply_override(c, "flow.eta=0.1");
  vgrow::apply_override(c, "flow.clamp=false");
  vgrow::apply_override(c, "optim.milestones=[10, 20]");
  vgrow::apply_override(c, "run.loops=7");
  EXPECT_EQ(c.flow.divergence, "js");
  EXPECT_DOUBLE_EQ(c.flow.eta, 0.1);
  EXPECT_FALSE(c.flow.clamp);
  EXPECT_EQ(c.optim.milestones, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(c.run.loops, 7);
}

TEST(Config, UnknownKeyIsNamed) {
  Config c;
  EXPECT_NE(error_of([&] { vgrow::apply_override(c, "flow.etta=1"); }).find("flow.etta"),
            std::string::npos);
  EXPECT_NE(error_of([&] { vgrow::apply_toml(c, "[flow]\nbogus = 1\n", "f.toml"); })
                .find("flow.bogus"),
            std::string::npos);
}

TEST(Config, WrongTypeIsNamed) {
  Config c;
  const auto msg = error_of([&] { vgrow::apply_override(c, "run.loops=abc"); });
  EXPECT_NE(msg.find("run.loops"), std::string::npos) << msg;
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
}

TEST(Config, ImpossibleValuesAndCombinationsAreRefused) {
  Config c;
  c.flow.eta = -0.5;
  auto msg = error_of([&] { vgrow::validate(c); });
  EXPECT_NE(msg.find("flow.eta"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-0.5"), std::string::npos) << msg;

  Config toy;
  toy.data.dataset = "toy";
  toy.flow.clamp = false;
  msg = error_of([&] { vgrow::validate(toy); });
  EXPECT_NE(msg.find("model.arch"), std::string::npos) << msg;

  Config huge;
  huge.flow.pool_batches = 100000000;
  msg = error_of([&] { vgrow::validate(huge); });
  EXPECT_NE(msg.find("GiB"), std::string::npos) << msg;
}

}  // namespace

namespace {

TEST(Config, MetricListsParseQuotedOrBareAndRoundTrip) {
  Config c;
  vgrow::apply_override(c, "eval.metrics=[\"fid\", \"kid\"]");
  EXPECT_EQ(c.eval.metrics, (std::vector<std::string>{"fid", "kid"}));
  vgrow::apply_override(c, "eval.metrics=[fid, is]");
  EXPECT_EQ(c.eval.metrics, (std::vector<std::string>{"fid", "is"}));
  vgrow::apply_override(c, "eval.metrics=precision");
  EXPECT_EQ(c.eval.metrics, (std::vector<std::string>{"precision"}));
  vgrow::apply_override(c, "eval.metrics=fid,recall");
  vgrow::validate(c);
  Config back;
  vgrow::apply_toml(back, vgrow::to_toml(c), "roundtrip");
  EXPECT_EQ(back.eval.metrics, c.eval.metrics);
}

TEST(Config, UnknownMetricsAndABestOutsideTheListAreRefused) {
  Config c;
  c.eval.metrics = {"fid", "sharpness"};
  EXPECT_NE(error_of([&] { vgrow::validate(c); }).find("sharpness"), std::string::npos);
  c.eval.metrics = {"fid"};
  c.eval.best = "is";
  EXPECT_NE(error_of([&] { vgrow::validate(c); }).find("eval.best"), std::string::npos);
  c.eval.best = "";
  c.data.dataset = "toy";
  c.model.arch = "mlp";
  c.flow.clamp = false;
  EXPECT_NE(error_of([&] { vgrow::validate(c); }).find("needs image data"), std::string::npos);
  Config r;
  r.run.on_divergence = "retry";
  EXPECT_NE(error_of([&] { vgrow::validate(r); }).find("run.on_divergence"), std::string::npos);
  r.run.on_divergence = "rollback";
  r.run.rollback_factor = 1.5;
  EXPECT_NE(error_of([&] { vgrow::validate(r); }).find("run.rollback_factor"), std::string::npos);
}

}  // namespace
