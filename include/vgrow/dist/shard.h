#pragma once
// How a data-parallel rank holds its part of the particle pool and of each batch.
//
// Every rank draws the *global* random tensors (latents, batch indices, shuffles) from the
// same seed and the same stream, then evaluates only the rows it holds. Summed over ranks,
// the rows evaluated are exactly those the single process evaluates, and every rank's
// random stream stays identical (so one checkpoint serves all ranks, at any world size).

#include <cstdint>

#include <torch/types.h>

namespace vgrow::dist {

// This process's part of a global batch. A loss mean over the global batch becomes
// world / global_count * (sum of the local terms): the average of the ranks' gradients is
// then the gradient of the global mean, however the items fall on the ranks.
struct BatchShare {
  int64_t global_count = 0;  // terms in the whole batch; 0: the local batch is the whole batch
  int64_t world = 1;

  // The local terms' contribution to the global mean (a plain mean for the whole batch).
  torch::Tensor mean(const torch::Tensor& terms) const;
};

// The contiguous rows [offset, offset + size) of a pool of `total` rows split evenly over
// `world` ranks. The default holds the whole pool.
struct PoolShard {
  int64_t offset = 0;
  int64_t size = 0;
  int64_t total = 0;  // 0: the whole pool, whatever its size
  int64_t world = 1;

  // Rank `rank`'s rows of `total`; requires total % world == 0.
  static PoolShard of(int64_t total, int64_t rank, int64_t world);
  bool whole() const { return total == 0; }
  // The global row indices in `rows` that this shard holds, as local indices, order kept.
  torch::Tensor local_rows(const torch::Tensor& rows) const;
  // How a local part of a global batch of `global_count` terms counts (see BatchShare).
  BatchShare share(int64_t global_count) const;
};

}  // namespace vgrow::dist
