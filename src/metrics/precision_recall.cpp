#include "vgrow/metrics/precision_recall.h"

#include <torch/torch.h>

#include <algorithm>

namespace vgrow::metrics {

namespace {

torch::Tensor distance_input(const torch::Tensor& features, const char* name) {
  TORCH_CHECK(features.dim() == 2, "precision/recall needs ", name,
              " features [N, D], got "
              "shape ",
              features.sizes());
  const auto dtype = features.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  return features.to(torch::kCPU, dtype).contiguous();
}

void check_chunk(int64_t chunk_size) {
  TORCH_CHECK(chunk_size >= 1, "chunk_size must be >= 1, got ", chunk_size);
}

}  // namespace

torch::Tensor knn_radii(const torch::Tensor& features, int64_t k, int64_t chunk_size) {
  check_chunk(chunk_size);
  const auto x = distance_input(features, "the");
  const int64_t n = x.size(0);
  TORCH_CHECK(k >= 1 && k < n, "k-NN radii need 1 <= k < sample count; got k = ", k, " with ", n,
              " samples");
  // Each row's own distance 0 is among its k + 1 smallest, so column k is the k-th neighbour.
  const int64_t keep = k + 1;
  auto radii = torch::empty({n}, x.options());
  for (int64_t r = 0; r < n; r += chunk_size) {
    const auto rows = x.slice(0, r, std::min(r + chunk_size, n));
    torch::Tensor nearest;  // running `keep` smallest distances per row
    for (int64_t c = 0; c < n; c += chunk_size) {
      auto candidates = torch::cdist(rows, x.slice(0, c, std::min(c + chunk_size, n)));
      if (nearest.defined()) candidates = torch::cat({nearest, candidates}, 1);
      nearest = std::get<0>(candidates.topk(std::min(keep, candidates.size(1)), 1,
                                            /*largest=*/false, /*sorted=*/false));
    }
    radii.slice(0, r, r + rows.size(0)) = std::get<0>(nearest.sort(1)).select(1, k);
  }
  return radii;
}

torch::Tensor within_manifold(const torch::Tensor& query, const torch::Tensor& support,
                              const torch::Tensor& radii, int64_t chunk_size) {
  check_chunk(chunk_size);
  const auto s = distance_input(support, "support");
  const auto q = distance_input(query, "query").to(s.scalar_type());
  TORCH_CHECK(q.size(1) == s.size(1), "query and support features differ in dimension: ", q.size(1),
              " vs ", s.size(1));
  TORCH_CHECK(radii.dim() == 1 && radii.size(0) == s.size(0), "need one radius per support row (",
              s.size(0), "), got shape ", radii.sizes());
  const auto r = radii.to(torch::kCPU, s.scalar_type());
  auto inside = torch::zeros({q.size(0)}, torch::kBool);
  for (int64_t i = 0; i < q.size(0); i += chunk_size) {
    const int64_t end = std::min(i + chunk_size, q.size(0));
    auto hit = torch::zeros({end - i}, torch::kBool);
    for (int64_t j = 0; j < s.size(0) && !hit.all().item<bool>(); j += chunk_size) {
      const int64_t stop = std::min(j + chunk_size, s.size(0));
      const auto d = torch::cdist(q.slice(0, i, end), s.slice(0, j, stop));
      hit = hit.logical_or((d <= r.slice(0, j, stop).unsqueeze(0)).any(1));
    }
    inside.slice(0, i, end) = hit;
  }
  return inside;
}

PrecisionRecallResult precision_recall(const torch::Tensor& real, const torch::Tensor& generated,
                                       const PrecisionRecallOptions& options) {
  auto x = distance_input(real, "real"), y = distance_input(generated, "generated");
  if (x.scalar_type() != y.scalar_type()) {
    x = x.to(torch::kFloat64);
    y = y.to(torch::kFloat64);
  }
  TORCH_CHECK(x.size(1) == y.size(1),
              "real and generated features differ in dimension: ", x.size(1), " vs ", y.size(1));
  const auto real_radii = knn_radii(x, options.k, options.chunk_size);
  const auto generated_radii = knn_radii(y, options.k, options.chunk_size);
  PrecisionRecallResult result;
  result.precision = within_manifold(y, x, real_radii, options.chunk_size)
                         .to(torch::kFloat64)
                         .mean()
                         .item<double>();
  result.recall = within_manifold(x, y, generated_radii, options.chunk_size)
                      .to(torch::kFloat64)
                      .mean()
                      .item<double>();
  return result;
}

}  // namespace vgrow::metrics
