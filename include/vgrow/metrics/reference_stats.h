#pragma once
// Reference statistics of a real image set under a feature extractor (the "training-set
// statistics" of the 50k protocol), computed once and cached in a file per dataset and
// extractor, so later evaluations and training runs only score their own samples.

#include <filesystem>
#include <functional>
#include <string>

#include <torch/types.h>

#include "vgrow/metrics/feature_extractor.h"
#include "vgrow/metrics/gaussian_stats.h"

namespace vgrow::metrics {

// $VGROW_CACHE_DIR, else $XDG_CACHE_HOME/vgrow, else $HOME/.cache/vgrow, else .vgrow-cache.
std::filesystem::path default_cache_dir();

// The cache file for `key`; characters other than [A-Za-z0-9._-] become '-'.
std::filesystem::path reference_stats_path(const std::filesystem::path& cache_dir,
                                           const std::string& key);

// Loads the statistics cached under `key`, or calls compute(), saves the result atomically
// and returns it. An unreadable cache file is recomputed (and replaced), never trusted.
GaussianStats cached_reference_stats(const std::filesystem::path& cache_dir,
                                     const std::string& key,
                                     const std::function<GaussianStats()>& compute,
                                     bool* from_cache = nullptr);

// Feature statistics of images (uint8 [N, C, H, W], or float in [-1, 1]), `chunk` images
// at a time, so neither all float images nor all features are held at once.
GaussianStats feature_stats(FeatureExtractor& extractor, const torch::Tensor& images,
                            int64_t chunk = 1000);

// A 64-bit FNV-1a digest of a tensor's bytes (and shape and type) as 16 hex digits: cached
// statistics are keyed by the images themselves, not by where they were read from.
std::string content_digest(const torch::Tensor& tensor);

// The cache key of a dataset split under an extractor, e.g.
// "fashion-mnist-train-32px-classifier-fashion-mnist-sha256-1f2e...".
std::string reference_stats_key(const std::string& dataset, const std::string& split,
                                int64_t image_size, int64_t limit,
                                const FeatureExtractor& extractor);

}  // namespace vgrow::metrics
