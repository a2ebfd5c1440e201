#include "vgrow/run/training_metrics.h"

#include <cmath>
#include <sstream>

#include <torch/torch.h>

#include "vgrow/data/image_dataset.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/reference_stats.h"
#include "run/toml_parse.h"

namespace vgrow {
namespace fs = std::filesystem;

std::string classifier_path(const Config& config) {
  return config.eval.classifier.empty() ? metrics::default_classifier_file(config.data.dataset)
                                        : config.eval.classifier;
}

metrics::ScoreOptions training_score_options(const Config& config) {
  metrics::ScoreOptions o;
  o.scores = config.eval.metrics;
  // All samples against the whole training set: no subsampling noise between evaluations,
  // and the statistics are computed once per dataset and classifier.
  o.fid_protocol = metrics::FidProtocol::kTrainStats;
  o.n = config.eval.count;
  o.seed = static_cast<uint64_t>(config.run.seed) + 2;
  return o;
}

TrainingMetrics::TrainingMetrics(const Config& config, Trainer& trainer,
                                 const fs::path& cache_dir)
    : options_(training_score_options(config)),
      best_(config.eval.best.empty() && !config.eval.metrics.empty() ? config.eval.metrics.front()
                                                                     : config.eval.best) {
  TORCH_CHECK(!options_.scores.empty(),
              "TrainingMetrics needs at least one metric in eval.metrics");
  const auto file = classifier_path(config);
  if (!fs::exists(file)) {
    throw metrics::ClassifierNotFound(
        file, config.data.dataset,
        "eval.metrics needs the dataset classifier '" + file +
            "', which does not exist (eval.classifier names the file to use)");
  }
  extractor_ = std::make_unique<metrics::ClassifierExtractor>(
      metrics::ClassifierExtractor::from_file(file));
  const auto* source = dynamic_cast<const data::ImageSource*>(&trainer.data());
  TORCH_CHECK(source, "eval.metrics needs an image dataset");
  const auto& images = source->images();
  const int64_t real_count = std::min(config.eval.count, images.size(0));
  options_.check(config.eval.count, real_count);
  description_ = "eval: " + extractor_->id();
  if (options_.wants("fid")) {
    // Keyed by the images' content: another data.path with other files gets its own.
    const auto dataset = config.data.dataset + "-" + metrics::content_digest(images);
    const auto key = metrics::reference_stats_key(dataset, "train", config.data.image_size,
                                                  config.data.limit, *extractor_);
    bool cached = false;
    train_stats_ = metrics::cached_reference_stats(
        cache_dir, key,
        [&] { return metrics::feature_stats(*extractor_, images, options_.chunk); }, &cached);
    description_ += "; training-set statistics of " + std::to_string(train_stats_.count) +
                    " images " + (cached ? "from " : "saved to ") +
                    metrics::reference_stats_path(cache_dir, key).string();
  }
  real_features_ = metrics::real_features(
      *extractor_, real_count, metrics::chunks_of(trainer.data().preview(real_count)), options_);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  latents_ = at::randn({config.eval.count, config.model.latent_dim}, gen);
  refine_.steps = config.eval.refine;  // latent space, eta 0.05: vgrow sample's defaults
  refine_.flow = trainer.options().flow;  // the training flow step's clamp and chunk size
  if (refine_.steps > 0) {
    description_ += "; samples refined by " + std::to_string(refine_.steps) +
                    " latent-space steps with the current D";
  }
}

torch::Tensor TrainingMetrics::draw(Trainer& trainer, const torch::Tensor& latents) {
  if (refine_.steps == 0) return trainer.generate(latents);
  auto* average = trainer.generator_average();
  auto& g = average ? average->module() : trainer.generator();
  auto& d = trainer.discriminator();
  const bool g_training = g.ptr()->is_training(), d_training = d.ptr()->is_training();
  g.ptr()->eval();
  d.ptr()->eval();
  torch::Tensor samples;
  try {
    // No noise term (refine_.noise = 0): the generator is never drawn from.
    samples = refine_latents(g, d, trainer.divergence(), latents.to(trainer.options().device),
                             refine_, at::make_generator<at::CPUGeneratorImpl>(0));
  } catch (...) {
    g.ptr()->train(g_training);
    d.ptr()->train(d_training);
    throw;
  }
  g.ptr()->train(g_training);
  d.ptr()->train(d_training);
  return samples.cpu();
}

std::vector<std::pair<std::string, double>> TrainingMetrics::evaluate(Trainer& trainer) {
  const auto generated = metrics::generated_features(
      *extractor_, latents_.size(0),
      [&](int64_t start, int64_t count) {
        return draw(trainer, latents_.slice(0, start, start + count));
      },
      options_);
  return metrics::score(generated, {real_features_, train_stats_}, options_)
      .values(options_.scores);
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
