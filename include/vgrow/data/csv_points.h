#pragma once
// A user's own 2-D target: points read from a CSV file.

#include <filesystem>
#include <string>

#include "vgrow/data/source.h"

namespace vgrow::data {

// Two numeric columns separated by a comma; an optional header line (a first line with no
// numeric cell); blank lines skipped. Returns float32 [n, 2].
torch::Tensor load_csv_points(const std::filesystem::path& path);

// Draws rows uniformly with replacement (torch::randint on the global generator).
class PointCloudSource : public RealSource {
 public:
  PointCloudSource(torch::Tensor points, std::string name);
  explicit PointCloudSource(const std::filesystem::path& csv)
      : PointCloudSource(load_csv_points(csv), csv.string()) {}

  torch::Tensor next_batch(int64_t n) override;
  // The same n rows on every call, drawn with a private, fixed-seed generator.
  torch::Tensor preview(int64_t n) const override;
  std::vector<int64_t> sample_shape() const override { return {2}; }
  std::string describe() const override;

  const torch::Tensor& points() const { return points_; }

 private:
  torch::Tensor points_;  // float32 [n, 2]
  std::string name_;
};

}  // namespace vgrow::data
