// What a config builds: here, the divergence and how its flow weighs the particles.
#include <gtest/gtest.h>

#include "vgrow/core/divergence.h"
#include "vgrow/run/config.h"
#include "vgrow/run/experiment.h"

namespace {

using vgrow::FlowWeighting;

FlowWeighting weighting_of(const std::string& divergence, const std::string& weighting) {
  vgrow::Config c;
  c.flow.divergence = divergence;
  c.flow.weighting = weighting;
  c.flow.max_relative_weight = 7;
  const auto d = vgrow::make_divergence(c);
  EXPECT_EQ(d.name(), divergence);
  EXPECT_EQ(d.options().max_relative_weight, 7);
  return d.options().weighting;
}

// The paper's four keep the paper's update unless asked; the three whose weight grows
// exponentially in |D| get relative weights by default.
TEST(Experiment, AutoWeightingIsExactForThePapersDivergencesOnly) {
  for (const std::string d : {"kl", "js", "logd", "jeffreys"}) {
    EXPECT_EQ(weighting_of(d, "auto"), FlowWeighting::Exact) << d;
    EXPECT_EQ(weighting_of(d, "relative"), FlowWeighting::Relative) << d;
  }
  for (const std::string d : {"pearson", "reverse-kl", "hellinger"}) {
    EXPECT_EQ(weighting_of(d, "auto"), FlowWeighting::Relative) << d;
    EXPECT_EQ(weighting_of(d, "exact"), FlowWeighting::Exact) << d;
  }
}

}  // namespace
