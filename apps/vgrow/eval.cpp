#include <filesystem>
#include <iomanip>
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/experiment.h"
#include "vgrow/io/checkpoint.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/fid.h"
#include "vgrow/metrics/inception.h"
#include "vgrow/metrics/inception_score.h"
#include "vgrow/metrics/kid.h"
#include "vgrow/metrics/precision_recall.h"
#include "vgrow/metrics/reference_stats.h"
#include "vgrow/metrics/toy2d_metrics.h"

namespace vgrow::cli {

namespace {

// 2-D runs: energy distance to fresh target samples and, for Gaussian-mode targets, coverage.
void eval_toy(const Config& config, torch::nn::AnyModule& generator, int64_t n, int64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  const auto samples = generator.forward(at::randn({n, config.model.latent_dim}, gen));
  torch::manual_seed(static_cast<uint64_t>(seed) + 1);
  const auto target = data::sample_toy2d(config.data.target, n);
  std::cout << std::setprecision(5) << "{\"target\":\"" << config.data.target
            << "\",\"samples\":" << n
            << ",\"energy_distance\":" << metrics::energy_distance(samples, target);
  const auto modes = data::toy2d_modes(config.data.target);
  if (modes.centres.defined()) {
    const auto cov = metrics::mode_coverage(samples, modes.centres, 3 * modes.sigma, 0.05);
    std::cout << ",\"modes\":" << modes.centres.size(0) << ",\"modes_covered\":" << cov.covered
              << ",\"off_mode\":" << cov.off_mode << ",\"mode_fractions\":[";
    for (size_t i = 0; i < cov.fractions.size(); ++i) std::cout << (i ? "," : "") << cov.fractions[i];
    std::cout << "]";
  }
  std::cout << "}\n";
}

// Images to score: generated on the fly from a checkpoint, read from a folder of PNG/JPEG,
// or a dataset split ("dataset:fashion-mnist:test").
torch::Tensor images_from(const std::string& source, int64_t n, int64_t seed, int64_t image_size,
                          std::string* dataset_out) {
  if (source.rfind("dataset:", 0) == 0) {
    const auto rest = source.substr(8);
    const auto colon = rest.find(':');
    data::ImageDatasetOptions o;
    o.kind = rest.substr(0, colon);
    o.split = colon == std::string::npos ? "test" : rest.substr(colon + 1);
    o.image_size = image_size;
    if (dataset_out) *dataset_out = o.kind;
    return data::to_float(data::load_image_dataset(o).images);
  }
  if (std::filesystem::is_directory(source) && io::list_checkpoints(source).empty()) {
    data::ImageDatasetOptions o;
    o.kind = "folder";
    o.path = source;
    o.image_size = image_size;
    o.channels = 1;
    return data::to_float(data::load_image_dataset(o).images);
  }
  auto trained = load_trained_generator(source);
  const auto& config = trained.config;
  TORCH_CHECK(config.is_image_data(), "'", source, "' is not an image generator");
  if (dataset_out) *dataset_out = config.data.dataset;
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < n; start += 500) {
    parts.push_back(trained.generator.forward(
        at::randn({std::min<int64_t>(500, n - start), config.model.latent_dim}, gen)));
  }
  return torch::cat(parts);
}

std::unique_ptr<metrics::FeatureExtractor> make_extractor(const std::string& classifier,
                                                          const std::string& inception) {
  if (!inception.empty()) {
    metrics::InceptionOptions o;
    o.path = inception;
    return std::make_unique<metrics::InceptionExtractor>(o);
  }
  TORCH_CHECK(!classifier.empty(),
              "scoring images needs a feature extractor: --classifier FILE (train one with "
              "`vgrow classifier train`) or --inception FILE (Inception-v3 TorchScript)");
  return std::make_unique<metrics::ClassifierExtractor>(
      metrics::ClassifierExtractor::from_file(classifier));
}

void eval_images(const std::string& source, const std::string& reference_arg,
                 const std::string& classifier, const std::string& inception,
                 const std::string& protocol, int64_t n, int64_t draws, int64_t seed,
                 int64_t threads) {
  torch::set_num_threads(static_cast<int>(threads));
  auto extractor = make_extractor(classifier, inception);
  std::string dataset = "fashion-mnist";
  const auto generated = images_from(source, n, seed, 32, &dataset);
  const auto reference_source = reference_arg.empty() ? "dataset:" + dataset + ":train" : reference_arg;
  const auto real = images_from(reference_source, n, seed, generated.size(2), nullptr);
  const int64_t m = std::min(generated.size(0), real.size(0));
  TORCH_CHECK(m >= 2, "need at least 2 images on each side, got ", generated.size(0), " and ",
              real.size(0));
  const auto gen_features = extractor->features(generated);
  const auto real_features = extractor->features(real);
  // train-stats: all n generated images against the statistics of the whole reference split
  // (50k vs training set), cached per dataset, size and extractor.
  metrics::GaussianStats reference_stats;
  std::string stats_file;
  if (protocol == "train-stats") {
    TORCH_CHECK(reference_source.rfind("dataset:", 0) == 0,
                "--protocol train-stats compares with a dataset split (--reference "
                "dataset:NAME:SPLIT), got '", reference_source, "'");
    const auto key = metrics::reference_stats_key(reference_source.substr(8), "all",
                                                  generated.size(2), 0, *extractor);
    const auto cache = metrics::default_cache_dir();
    reference_stats = metrics::cached_reference_stats(
        cache, key, [&] { return metrics::gaussian_stats(real_features); });
    stats_file = metrics::reference_stats_path(cache, key).string();
  }
  metrics::FidDrawsOptions fo;
  fo.n = std::min(n, m);
  fo.draws = draws;
  fo.seed = static_cast<uint64_t>(seed);
  metrics::FidDrawsResult fid;
  if (protocol == "train-stats") {
    const auto r = metrics::fid_vs_reference(gen_features, reference_stats);
    fid.mean = r.value;
    fid.values = {r.value};
    fid.warning = r.warning;
    fo.n = gen_features.size(0);
    draws = 1;
  } else {
    fid = metrics::fid_over_draws(gen_features, real_features, fo);
  }
  metrics::KidOptions ko;
  ko.subset_size = std::min<int64_t>(1000, m);
  ko.seed = static_cast<uint64_t>(seed);
  const auto kid = metrics::kid(gen_features, real_features, ko);
  const auto is = metrics::inception_score(extractor->probabilities(generated), 10);
  const auto pr = metrics::precision_recall(real_features.narrow(0, 0, std::min<int64_t>(m, 10000)),
                                            gen_features.narrow(0, 0, std::min<int64_t>(m, 10000)));
  std::cout << std::setprecision(6) << "{\"source\":\"" << source << "\",\"reference\":\""
            << reference_source << "\",\"protocol\":\"" << protocol
            << (stats_file.empty() ? "" : "\",\"reference_stats\":\"" + stats_file)
            << "\",\"extractor\":\"" << extractor->id()
            << "\",\"n\":" << fo.n << ",\"draws\":" << draws << ",\"fid\":" << fid.mean
            << ",\"fid_sd\":" << fid.sd << ",\"kid\":" << kid.mean << ",\"kid_sd\":" << kid.sd
            << ",\"is\":" << is.mean << ",\"is_sd\":" << is.sd << ",\"precision\":" << pr.precision
            << ",\"recall\":" << pr.recall << "}\n";
  if (!fid.warning.empty()) std::cerr << "vgrow: warning: " << fid.warning << "\n";
}

}  // namespace

void add_eval(CLI::App& app) {
  struct Args {
    std::string source, reference, classifier, inception, protocol = "paper";
    int64_t count = 10000, draws = 5, seed = 0, threads = 2;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "eval", "Score a generator, a folder of images or a dataset split (FID, KID, IS, P/R)");
  cmd->add_option("source", args->source,
                  "checkpoint file, run folder, image folder, or dataset:NAME:SPLIT")->required();
  cmd->add_option("--reference", args->reference,
                  "real images to compare with (default dataset:<the run's dataset>:train)");
  cmd->add_option("--classifier", args->classifier, "dataset classifier from `vgrow classifier train`");
  cmd->add_option("--inception", args->inception, "Inception-v3 TorchScript file (never downloaded)");
  cmd->add_option("--protocol", args->protocol,
                  "paper: n generated vs n real, mean and sd over --draws subsamples; "
                  "train-stats: n generated (e.g. 50000) vs the whole reference split's cached "
                  "statistics")
      ->check(CLI::IsMember({"paper", "train-stats"}));
  cmd->add_option("-n,--count", args->count, "images per side (paper: 10000)")->check(CLI::PositiveNumber);
  cmd->add_option("--draws", args->draws, "FID draws, mean and sd reported (paper: 5)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of the latents and draws");
  cmd->add_option("--threads", args->threads, "CPU threads")->check(CLI::PositiveNumber);
  cmd->callback([args] {
    const bool toy_checkpoint = [&] {
      if (args->source.rfind("dataset:", 0) == 0) return false;
      if (std::filesystem::is_directory(args->source) && io::list_checkpoints(args->source).empty()) return false;
      // The stored config says what was trained; no need to build and load G for that.
      const auto file = io::resolve_checkpoint(args->source);
      Config config;
      apply_toml(config, io::read_generator_checkpoint(file).config_toml, file.string());
      return !config.is_image_data();
    }();
    if (!toy_checkpoint) {
      eval_images(args->source, args->reference, args->classifier, args->inception,
                  args->protocol, args->count, args->draws, args->seed, args->threads);
      return;
    }
    auto trained = load_trained_generator(args->source);
    torch::NoGradGuard no_grad;
    eval_toy(trained.config, trained.generator, std::min<int64_t>(args->count, 5000), args->seed);
  });
}

}  // namespace vgrow::cli
