#pragma once
// A batch of images tiled into one picture (the layout of torchvision's make_grid).

#include <filesystem>

#include <torch/types.h>

namespace vgrow::io {

struct ImageGridOptions {
  int64_t nrow = 8;       // images per row
  int64_t padding = 2;    // pixels around and between images
  uint8_t pad_value = 0;  // colour of the padding
};

// batch: [N, C, H, W], uint8 or floating point in [-1, 1]; C 1 or 3.
// Returns uint8 [C, rows*(H+p)+p, cols*(W+p)+p] with cols = min(nrow, N).
torch::Tensor make_image_grid(const torch::Tensor& batch, const ImageGridOptions& options = {});

void save_image_grid(const std::filesystem::path& path, const torch::Tensor& batch,
                     const ImageGridOptions& options = {});

}  // namespace vgrow::io
