#include "vgrow/dist/shard.h"

#include <torch/torch.h>

namespace vgrow::dist {

torch::Tensor BatchShare::mean(const torch::Tensor& terms) const {
  if (global_count == 0) return terms.mean();
  TORCH_CHECK(global_count > 0 && world >= 1, "batch share needs a positive global count, got ",
              global_count, " over ", world, " ranks");
  return terms.sum() * (static_cast<double>(world) / static_cast<double>(global_count));
}

PoolShard PoolShard::of(int64_t total, int64_t rank, int64_t world) {
  TORCH_CHECK(world >= 1 && rank >= 0 && rank < world, "rank ", rank, " is not in a world of ",
              world);
  TORCH_CHECK(total > 0 && total % world == 0, "a pool of ", total,
              " rows does not split evenly over ", world, " ranks");
  const int64_t size = total / world;
  return {rank * size, size, total, world};
}

torch::Tensor PoolShard::local_rows(const torch::Tensor& rows) const {
  if (whole()) return rows;
  const auto held = (rows >= offset) & (rows < offset + size);
  return rows.masked_select(held) - offset;
}

BatchShare PoolShard::share(int64_t global_count) const {
  return whole() ? BatchShare{} : BatchShare{global_count, world};
}

}  // namespace vgrow::dist
