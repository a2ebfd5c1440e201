#pragma once
// Scores computed while training (config [eval]): every eval.every outer loops, G's samples
// at fixed latents are scored with the dataset classifier against the training data, and
// the run keeps best.pt, the checkpoint with the best value of the chosen metric.

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "vgrow/config.h"
#include "vgrow/metrics/feature_extractor.h"
#include "vgrow/metrics/gaussian_stats.h"
#include "vgrow/trainer.h"

namespace vgrow {

// Lower is better for fid and kid; higher for is, precision and recall.
bool lower_is_better(const std::string& metric);

// The classifier file a config uses: eval.classifier, or classifiers/<dataset>.pt.
std::string classifier_path(const Config& config);

class TrainingMetrics {
 public:
  // Loads the classifier (a clear error when it is missing: how to train one), the training
  // set's statistics (cached in `cache_dir`) and features of eval.count real images.
  TrainingMetrics(const Config& config, Trainer& trainer, const std::filesystem::path& cache_dir,
                  bool verbose);

  // The configured metrics for G's current samples, in config order. FID compares eval.count
  // samples with the whole training set's statistics; KID and precision/recall with
  // eval.count real images; IS uses the classifier's class probabilities.
  std::vector<std::pair<std::string, double>> evaluate(Trainer& trainer);

  const std::string& best_metric() const { return best_; }
  const metrics::FeatureExtractor& extractor() const { return *extractor_; }

 private:
  std::vector<std::string> metrics_;
  std::string best_;
  std::unique_ptr<metrics::FeatureExtractor> extractor_;
  metrics::GaussianStats train_stats_;
  torch::Tensor real_features_;
  torch::Tensor latents_;
  uint64_t seed_;
};

// Best-so-far bookkeeping, kept in best.toml next to best.pt so a resumed run continues it.
struct BestScore {
  std::string metric;
  double value = 0.0;
  int64_t loop = -1;  // -1: nothing recorded yet

  bool improved_by(double candidate) const;
  static BestScore load(const std::filesystem::path& file, const std::string& metric);
  void save(const std::filesystem::path& file) const;
};

}  // namespace vgrow
