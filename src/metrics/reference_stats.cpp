#include "vgrow/metrics/reference_stats.h"

#include <cstdio>
#include <cstdlib>

#include <torch/torch.h>

#include "vgrow/data/image_dataset.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/io/pixels.h"

namespace vgrow::metrics {
namespace fs = std::filesystem;

fs::path default_cache_dir() {
  if (const char* d = std::getenv("VGROW_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "vgrow";
  if (const char* d = std::getenv("HOME"); d && *d) return fs::path(d) / ".cache" / "vgrow";
  return ".vgrow-cache";
}

fs::path reference_stats_path(const fs::path& cache_dir, const std::string& key) {
  TORCH_CHECK(!key.empty(), "reference statistics need a non-empty cache key");
  std::string name = key;
  for (auto& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '-';
  }
  return cache_dir / ("stats-" + name + ".pt");
}

GaussianStats cached_reference_stats(const fs::path& cache_dir, const std::string& key,
                                     const std::function<GaussianStats()>& compute,
                                     bool* from_cache) {
  const auto file = reference_stats_path(cache_dir, key);
  if (fs::exists(file)) {
    try {
      auto stats = GaussianStats::load(file.string());
      if (from_cache) *from_cache = true;
      return stats;
    } catch (const c10::Error& e) {
      TORCH_WARN("recomputing reference statistics: ", e.what_without_backtrace());
    }
  }
  auto stats = compute();
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  TORCH_CHECK(!ec, "cannot create the statistics cache '", cache_dir.string(), "': ",
              ec.message(), " (set VGROW_CACHE_DIR to a writable folder)");
  io::write_atomically(file, [&](const fs::path& tmp) { stats.save(tmp.string()); });
  if (from_cache) *from_cache = false;
  return stats;
}

GaussianStats feature_stats(FeatureExtractor& extractor, const torch::Tensor& images,
                            int64_t chunk) {
  TORCH_CHECK(images.dim() == 4 && images.size(0) >= 2,
              "reference statistics need at least 2 images [N, C, H, W], got shape ",
              images.sizes());
  GaussianStatsAccumulator acc;
  for (int64_t i = 0; i < images.size(0); i += chunk) {
    auto x = images.slice(0, i, std::min(i + chunk, images.size(0)));
    if (x.scalar_type() == torch::kUInt8) x = io::to_float(x);
    acc.add(extractor.features(x));
  }
  return acc.finish();
}

std::string content_digest(const torch::Tensor& tensor) {
  const auto t = tensor.contiguous().cpu();
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  for (const auto size : t.sizes()) mix(reinterpret_cast<const unsigned char*>(&size), sizeof size);
  const auto type = static_cast<int>(t.scalar_type());
  mix(reinterpret_cast<const unsigned char*>(&type), sizeof type);
  mix(static_cast<const unsigned char*>(t.data_ptr()), t.numel() * t.element_size());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string reference_stats_key(const std::string& dataset, const std::string& split,
                                int64_t image_size, int64_t limit,
                                const FeatureExtractor& extractor) {
  auto key = dataset + "-" + split + "-" + std::to_string(image_size) + "px";
  if (limit > 0) key += "-first" + std::to_string(limit);
  return key + "-" + extractor.id();
}

}  // namespace vgrow::metrics
