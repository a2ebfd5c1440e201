#pragma once
// The one metrics protocol: which scores, on how many samples, with which settings. `vgrow
// eval` and the in-training scores both extract features and score through here, so their
// numbers are comparable. The settings are the ones `vgrow eval` has always used:
//   FID    float64; "paper": n generated vs n real, mean and sd over 5 subsampled draws;
//          "train-stats": every generated sample vs cached reference statistics.
//   KID    100 subsets of min(1000, both counts) (torch-fidelity's defaults).
//   IS     10 splits (the reference implementations').
//   P/R    k = 3 on the first min(10000, both counts) of each side (Kynkaanniemi et al.).

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "vgrow/metrics/feature_extractor.h"
#include "vgrow/metrics/gaussian_stats.h"

namespace vgrow::metrics {

// fid, kid, is, precision, recall: the scores the protocol knows, in this order.
const std::vector<std::string>& score_names();
// fid and kid are distances (lower is better); is, precision and recall are not.
bool lower_is_better(const std::string& score);

enum class FidProtocol {
  kPaper,       // n generated vs n real, mean and sd over fid_draws subsamples
  kTrainStats,  // all generated vs reference statistics (the whole training set's)
};
FidProtocol parse_fid_protocol(const std::string& name);  // "paper" or "train-stats"
std::string fid_protocol_name(FidProtocol protocol);

struct ScoreOptions {
  std::vector<std::string> scores = score_names();  // any subset, any order
  FidProtocol fid_protocol = FidProtocol::kPaper;
  int64_t n = 10000;  // paper FID: samples per side, capped by both counts
  int64_t fid_draws = 5;
  int64_t kid_subsets = 100;
  int64_t kid_subset_size = 1000;  // capped by both counts
  int64_t is_splits = 10;
  int64_t pr_k = 3;
  int64_t pr_max = 10000;  // precision/recall use at most this many per side
  int64_t chunk = 500;     // images per extractor call
  uint64_t seed = 0;       // FID draws and KID subsets

  bool wants(const std::string& score) const;
  // Refuses unknown scores and sizes the scores cannot work with, before any work is done.
  // real_count: real feature rows (0 when only reference statistics are at hand).
  void check(int64_t generated_count, int64_t real_count) const;
};

// images(start, count): images [count, C, H, W], uint8 or float in [-1, 1]. Called in order
// over [0, total), so generated images need never all be in memory at once.
using ImageChunks = std::function<torch::Tensor(int64_t start, int64_t count)>;
ImageChunks chunks_of(const torch::Tensor& images);  // slices of images in memory

// The generated side: features and, when IS is scored, class probabilities.
struct SampleFeatures {
  torch::Tensor features;       // float [N, D]
  torch::Tensor probabilities;  // float [N, K], or undefined
};
SampleFeatures generated_features(FeatureExtractor& extractor, int64_t count,
                                  const ImageChunks& images, const ScoreOptions& options);
// The real side: features only.
torch::Tensor real_features(FeatureExtractor& extractor, int64_t count, const ImageChunks& images,
                            const ScoreOptions& options);

// Real features (KID, precision/recall, paper FID) and, for train-stats FID, the reference
// statistics; either may be left empty when no requested score needs it.
struct RealReference {
  torch::Tensor features;
  GaussianStats stats;
};

struct ScoreSet {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  FidProtocol fid_protocol = FidProtocol::kPaper;
  int64_t n = 0;      // generated samples per FID
  int64_t draws = 0;  // FIDs averaged (1 for train-stats)
  double fid = kNone, fid_sd = kNone, kid = kNone, kid_sd = kNone, is = kNone, is_sd = kNone,
         precision = kNone, recall = kNone;  // NaN: not requested

  double value(const std::string& score) const;
  // (score, value) in the order asked, e.g. the configured eval.metrics.
  std::vector<std::pair<std::string, double>> values(const std::vector<std::string>& scores) const;
  // Every score with its sd, as `vgrow eval` prints them: fid, fid_sd, kid, kid_sd, ...
  std::vector<std::pair<std::string, double>> record() const;
};

ScoreSet score(const SampleFeatures& generated, const RealReference& real,
               const ScoreOptions& options);

}  // namespace vgrow::metrics
