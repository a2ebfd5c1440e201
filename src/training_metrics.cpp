#include "vgrow/training_metrics.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <torch/torch.h>

#include "vgrow/data/image_dataset.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/fid.h"
#include "vgrow/metrics/inception_score.h"
#include "vgrow/metrics/kid.h"
#include "vgrow/metrics/precision_recall.h"
#include "vgrow/metrics/reference_stats.h"
#include "vgrow/toml_parse.h"

namespace vgrow {
namespace fs = std::filesystem;

bool lower_is_better(const std::string& metric) { return metric == "fid" || metric == "kid"; }

std::string classifier_path(const Config& config) {
  return config.eval.classifier.empty() ? "classifiers/" + config.data.dataset + ".pt"
                                        : config.eval.classifier;
}

TrainingMetrics::TrainingMetrics(const Config& config, Trainer& trainer,
                                 const fs::path& cache_dir, bool verbose)
    : metrics_(config.eval.metrics),
      best_(config.eval.best.empty() && !metrics_.empty() ? metrics_.front() : config.eval.best),
      seed_(static_cast<uint64_t>(config.run.seed) + 2) {
  TORCH_CHECK(!metrics_.empty(), "TrainingMetrics needs at least one metric in eval.metrics");
  const auto file = classifier_path(config);
  TORCH_CHECK(fs::exists(file), "eval.metrics needs the dataset classifier '", file,
              "', which does not exist: train it with `vgrow classifier train --dataset ",
              config.data.dataset, " -o ", file, "` or set eval.classifier");
  extractor_ = std::make_unique<metrics::ClassifierExtractor>(
      metrics::ClassifierExtractor::from_file(file));
  const auto* source = dynamic_cast<const data::ImageSource*>(&trainer.data());
  TORCH_CHECK(source, "eval.metrics needs an image dataset");
  const auto& images = source->images();
  const auto dataset = config.data.dataset + (config.data.path.empty() ? "" : "-" + config.data.path);
  const auto key = metrics::reference_stats_key(dataset, "train", config.data.image_size,
                                                config.data.limit, *extractor_);
  bool cached = false;
  train_stats_ = metrics::cached_reference_stats(
      cache_dir, key, [&] { return metrics::feature_stats(*extractor_, images); }, &cached);
  if (verbose) {
    std::cout << "eval: " << extractor_->id() << "; training-set statistics of "
              << train_stats_.count << " images " << (cached ? "from" : "saved to") << " "
              << metrics::reference_stats_path(cache_dir, key).string() << "\n";
  }
  const int64_t n = std::min(config.eval.count, images.size(0));
  real_features_ = extractor_->features(trainer.data().preview(n));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_);
  latents_ = at::randn({config.eval.count, config.model.latent_dim}, gen);
}

std::vector<std::pair<std::string, double>> TrainingMetrics::evaluate(Trainer& trainer) {
  const auto samples = trainer.generate(latents_);
  const auto features = extractor_->features(samples);
  std::vector<std::pair<std::string, double>> out;
  metrics::PrecisionRecallResult pr;
  bool pr_done = false;
  for (const auto& m : metrics_) {
    double value = 0.0;
    if (m == "fid") {
      value = metrics::fid_vs_reference(features, train_stats_).value;
    } else if (m == "kid") {
      metrics::KidOptions o;
      o.subset_size = std::min<int64_t>(1000, std::min(features.size(0), real_features_.size(0)));
      o.subsets = 50;
      o.seed = seed_;
      value = metrics::kid(features, real_features_, o).mean;
    } else if (m == "is") {
      value = metrics::inception_score(extractor_->probabilities(samples), 10).mean;
    } else {
      if (!pr_done) pr = metrics::precision_recall(real_features_, features);
      pr_done = true;
      value = m == "precision" ? pr.precision : pr.recall;
    }
    out.emplace_back(m, value);
  }
  return out;
}

bool BestScore::improved_by(double candidate) const {
  if (!std::isfinite(candidate)) return false;
  if (loop < 0) return true;
  return lower_is_better(metric) ? candidate < value : candidate > value;
}

BestScore BestScore::load(const fs::path& file, const std::string& metric) {
  BestScore best{metric};
  if (!fs::exists(file)) return best;
  try {
    const auto t = parse_toml_file(file);
    // A best.toml of another metric (the config changed on resume) starts afresh.
    if (t["metric"].value_or(std::string()) != metric) return best;
    best.value = t["value"].value_or(0.0);
    best.loop = t["loop"].value_or(int64_t{-1});
  } catch (const toml::parse_error& e) {
    TORCH_CHECK(false, "cannot read '", file.string(), "': ", e.description());
  }
  return best;
}

void BestScore::save(const fs::path& file) const {
  std::ostringstream out;
  out.precision(10);
  out << "metric = \"" << metric << "\"\nvalue = " << value << "\nloop = " << loop << "\n";
  io::write_text_atomically(file, out.str());
}

}  // namespace vgrow
