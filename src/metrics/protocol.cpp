#include "vgrow/metrics/protocol.h"

#include <torch/torch.h>

#include <algorithm>

#include "vgrow/io/pixels.h"
#include "vgrow/metrics/fid.h"
#include "vgrow/metrics/inception_score.h"
#include "vgrow/metrics/kid.h"
#include "vgrow/metrics/precision_recall.h"

namespace vgrow::metrics {

namespace {

SampleFeatures extract(FeatureExtractor& extractor, int64_t count, const ImageChunks& images,
                       int64_t chunk, bool with_probabilities) {
  TORCH_CHECK(count >= 1, "feature extraction needs at least 1 image, got ", count);
  TORCH_CHECK(chunk >= 1, "feature extraction chunk must be >= 1, got ", chunk);
  TORCH_CHECK(static_cast<bool>(images), "feature extraction needs an image source");
  std::vector<torch::Tensor> features, probabilities;
  for (int64_t start = 0; start < count; start += chunk) {
    const int64_t size = std::min(chunk, count - start);
    auto x = images(start, size);
    TORCH_CHECK(x.dim() == 4 && x.size(0) == size, "images [", start, ", ", start + size,
                ") should be ", size, " images [N, C, H, W], got shape ", x.sizes());
    if (x.scalar_type() == torch::kUInt8) x = io::to_float(x);
    features.push_back(extractor.features(x));
    if (with_probabilities) probabilities.push_back(extractor.probabilities(x));
  }
  return {torch::cat(features), with_probabilities ? torch::cat(probabilities) : torch::Tensor()};
}

bool needs_real_features(const ScoreOptions& o) {
  return o.wants("kid") || o.wants("precision") || o.wants("recall") ||
         (o.wants("fid") && o.fid_protocol == FidProtocol::kPaper);
}

}  // namespace

const std::vector<std::string>& score_names() {
  static const std::vector<std::string> names{"fid", "kid", "is", "precision", "recall"};
  return names;
}

bool lower_is_better(const std::string& score) { return score == "fid" || score == "kid"; }

FidProtocol parse_fid_protocol(const std::string& name) {
  if (name == "paper") return FidProtocol::kPaper;
  if (name == "train-stats") return FidProtocol::kTrainStats;
  TORCH_CHECK(false, "unknown FID protocol '", name, "' (paper or train-stats)");
}

std::string fid_protocol_name(FidProtocol protocol) {
  return protocol == FidProtocol::kPaper ? "paper" : "train-stats";
}

bool ScoreOptions::wants(const std::string& score) const {
  return std::find(scores.begin(), scores.end(), score) != scores.end();
}

void ScoreOptions::check(int64_t generated_count, int64_t real_count) const {
  TORCH_CHECK(!scores.empty(), "no scores requested (fid, kid, is, precision, recall)");
  for (const auto& s : scores) {
    const auto& known = score_names();
    TORCH_CHECK(std::find(known.begin(), known.end(), s) != known.end(), "'", s,
                "' is not a score: use fid, kid, is, precision or recall");
  }
  TORCH_CHECK(n >= 2 && fid_draws >= 1 && kid_subsets >= 1 && kid_subset_size >= 2 &&
                  is_splits >= 1 && pr_k >= 1 && pr_max >= 2 && chunk >= 1,
              "score options need n >= 2, fid_draws >= 1, kid_subsets >= 1, kid_subset_size >= 2, "
              "is_splits >= 1, pr_k >= 1, pr_max >= 2 and chunk >= 1");
  TORCH_CHECK(generated_count >= 2, "scores need at least 2 generated samples, got ",
              generated_count);
  if (needs_real_features(*this)) {
    TORCH_CHECK(real_count >= 2,
                "KID, precision/recall and paper FID need at least 2 real samples, got ",
                real_count);
  }
  if (wants("is")) {
    TORCH_CHECK(generated_count >= is_splits, "IS in ", is_splits, " splits needs at least ",
                is_splits, " generated samples, got ", generated_count);
  }
  if (wants("precision") || wants("recall")) {
    const int64_t per_side = std::min({generated_count, real_count, pr_max});
    TORCH_CHECK(per_side > pr_k, "precision/recall with k = ", pr_k, " need more than ", pr_k,
                " samples per side, got ", per_side);
  }
}

ImageChunks chunks_of(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4, "images must be [N, C, H, W], got shape ", images.sizes());
  return [images](int64_t start, int64_t count) { return images.slice(0, start, start + count); };
}

SampleFeatures generated_features(FeatureExtractor& extractor, int64_t count,
                                  const ImageChunks& images, const ScoreOptions& options) {
  return extract(extractor, count, images, options.chunk, options.wants("is"));
}

torch::Tensor real_features(FeatureExtractor& extractor, int64_t count, const ImageChunks& images,
                            const ScoreOptions& options) {
  return extract(extractor, count, images, options.chunk, false).features;
}

double ScoreSet::value(const std::string& score) const {
  if (score == "fid") return fid;
  if (score == "kid") return kid;
  if (score == "is") return is;
  if (score == "precision") return precision;
  if (score == "recall") return recall;
  TORCH_CHECK(false, "'", score, "' is not a score: use fid, kid, is, precision or recall");
}

std::vector<std::pair<std::string, double>> ScoreSet::values(
    const std::vector<std::string>& scores) const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& s : scores) out.emplace_back(s, value(s));
  return out;
}

std::vector<std::pair<std::string, double>> ScoreSet::record() const {
  return {{"fid", fid}, {"fid_sd", fid_sd}, {"kid", kid},             {"kid_sd", kid_sd},
          {"is", is},   {"is_sd", is_sd},   {"precision", precision}, {"recall", recall}};
}

ScoreSet score(const SampleFeatures& generated, const RealReference& real,
               const ScoreOptions& options) {
  const auto& gen = generated.features;
  TORCH_CHECK(gen.defined() && gen.dim() == 2, "scores need generated features [N, D], got ",
              gen.defined() ? gen.sizes() : c10::IntArrayRef{});
  TORCH_CHECK(!real.features.defined() || real.features.dim() == 2,
              "scores need real features [N, D], got shape ", real.features.sizes());
  const int64_t g = gen.size(0);
  const int64_t r = real.features.defined() ? real.features.size(0) : 0;
  options.check(g, r);
  const int64_t m = std::min(g, r);
  ScoreSet s;
  s.fid_protocol = options.fid_protocol;
  if (options.wants("fid")) {
    if (options.fid_protocol == FidProtocol::kPaper) {
      const auto fid = fid_over_draws(gen, real.features,
                                      {std::min(options.n, m), options.fid_draws, options.seed});
      s.n = std::min(options.n, m);
      s.draws = options.fid_draws;
      s.fid = fid.mean;
      s.fid_sd = fid.sd;
    } else {
      TORCH_CHECK(real.stats.mean.defined(),
                  "train-stats FID needs the reference statistics, got none");
      s.n = g;
      s.draws = 1;
      s.fid = fid_vs_reference(gen, real.stats).value;
      s.fid_sd = 0.0;
    }
  }
  if (options.wants("kid")) {
    const auto kid =
        metrics::kid(gen, real.features,
                     {options.kid_subsets, std::min(options.kid_subset_size, m), options.seed});
    s.kid = kid.mean;
    s.kid_sd = kid.sd;
  }
  if (options.wants("is")) {
    TORCH_CHECK(generated.probabilities.defined(),
                "IS needs class probabilities of the generated samples, got none");
    const auto is = inception_score(generated.probabilities, options.is_splits);
    s.is = is.mean;
    s.is_sd = is.sd;
  }
  if (options.wants("precision") || options.wants("recall")) {
    const int64_t per_side = std::min(m, options.pr_max);
    const auto pr = precision_recall(real.features.narrow(0, 0, per_side),
                                     gen.narrow(0, 0, per_side), {options.pr_k});
    s.precision = pr.precision;
    s.recall = pr.recall;
  }
  return s;
}

}  // namespace vgrow::metrics
