// The statistics cache: keyed by content, and a damaged cache file is rebuilt, not trusted.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "vgrow/metrics/reference_stats.h"

namespace {

using vgrow::metrics::content_digest;

TEST(ReferenceStatsCache, ContentDigestFollowsTheBytesShapeAndType) {
  const auto a = torch::arange(1000, torch::kUInt8).view({10, 1, 10, 10});
  EXPECT_EQ(content_digest(a), content_digest(a.clone()));
  EXPECT_EQ(content_digest(a).size(), 16u);
  auto b = a.clone();
  b[9][0][9][9] = 0;
  EXPECT_NE(content_digest(a), content_digest(b)) << "one changed pixel";
  EXPECT_NE(content_digest(a), content_digest(a.view({10, 1, 100})));
  EXPECT_NE(content_digest(a), content_digest(a.to(torch::kInt8)));
  EXPECT_EQ(content_digest(a.transpose(2, 3).contiguous().transpose(2, 3)), content_digest(a));
}

TEST(ReferenceStatsCache, ADamagedCacheFileIsRebuiltWithAWarning) {
  vgrow::testing::TempDir dir("vgrow-cache");
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return vgrow::metrics::gaussian_stats(torch::randn({50, 3}, torch::kFloat64));
  };
  const auto file = vgrow::metrics::reference_stats_path(dir.path(), "key");
  std::ofstream(file) << "damaged";
  bool cached = true;
  vgrow::metrics::cached_reference_stats(dir.path(), "key", compute, &cached);
  EXPECT_EQ(computed, 1);
  EXPECT_FALSE(cached);
  vgrow::metrics::cached_reference_stats(dir.path(), "key", compute, &cached);
  EXPECT_EQ(computed, 1) << "the rebuilt file is used";
  EXPECT_TRUE(cached);
}

}  // namespace
