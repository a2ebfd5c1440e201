#pragma once
// Scores computed while training (config [eval]): every eval.every outer loops, G's samples
// at fixed latents are scored with the dataset classifier against the training data, and
// the run keeps best.pt, the checkpoint with the best value of the chosen metric. The scores
// follow the metrics protocol (vgrow/metrics/protocol.h), the one `vgrow eval` uses.

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "vgrow/run/config.h"
#include "vgrow/metrics/feature_extractor.h"
#include "vgrow/metrics/gaussian_stats.h"
#include "vgrow/metrics/protocol.h"
#include "vgrow/core/refinement.h"
#include "vgrow/core/trainer.h"

namespace vgrow {

// Lower is better for fid and kid; higher for is, precision and recall.
using metrics::lower_is_better;

// The classifier file a config uses: eval.classifier, or classifiers/<dataset>.pt.
std::string classifier_path(const Config& config);

// The protocol for in-training scores: eval.metrics on eval.count samples, FID against the
// training set's statistics (train-stats), every other setting the protocol's default.
metrics::ScoreOptions training_score_options(const Config& config);

class TrainingMetrics {
 public:
  // Loads the classifier (metrics::ClassifierNotFound when the file is missing), the
  // training set's statistics (cached in `cache_dir`) and features of eval.count real images.
  TrainingMetrics(const Config& config, Trainer& trainer, const std::filesystem::path& cache_dir);

  // The configured metrics for G's current samples, in config order. FID compares eval.count
  // samples with the whole training set's statistics; KID and precision/recall with
  // eval.count real images; IS uses the classifier's class probabilities.
  std::vector<std::pair<std::string, double>> evaluate(Trainer& trainer);
  // The samples evaluate() scores: G's (its EMA when there is one) at the fixed latents,
  // refined by eval.refine latent-space steps with the trainer's D. G and D run in eval mode
  // and are left in the mode they were in; no weight, buffer or gradient of theirs changes.
  torch::Tensor draw(Trainer& trainer, const torch::Tensor& latents);

  const std::string& best_metric() const { return best_; }
  const metrics::FeatureExtractor& extractor() const { return *extractor_; }
  const metrics::ScoreOptions& options() const { return options_; }
  // One line for the run's log: the extractor and where the training-set statistics came
  // from, e.g. "eval: classifier:...; training-set statistics of 500 images from FILE".
  const std::string& description() const { return description_; }

 private:
  metrics::ScoreOptions options_;
  std::string best_;
  std::string description_;
  std::unique_ptr<metrics::FeatureExtractor> extractor_;
  metrics::GaussianStats train_stats_;
  torch::Tensor real_features_;
  torch::Tensor latents_;
  RefineOptions refine_;
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
