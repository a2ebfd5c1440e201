#pragma once
// PNG files for sample images and grids.

#include <filesystem>

#include <torch/types.h>

namespace vgrow::io {

// image: [C, H, W] with C 1 or 3, uint8 or floating point in [-1, 1] (clamped).
// Atomic: written to a unique temporary beside path, then renamed over it (atomic_file.h).
void write_png(const std::filesystem::path& path, const torch::Tensor& image);

// uint8 [C, H, W] with C as stored in the file (1 to 4).
torch::Tensor read_png(const std::filesystem::path& path);

}  // namespace vgrow::io
