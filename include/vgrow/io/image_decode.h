#pragma once
// Decoding PNG and JPEG files of unknown origin (a user's image folder, `vgrow eval DIR`):
// only these two formats, with the image size checked before anything is allocated.

#include <cstdint>
#include <filesystem>

#include <torch/types.h>

namespace vgrow::io {

struct ImageDecodeOptions {
  // Images with more pixels than this are refused from their header (8192 x 8192).
  int64_t max_pixels = int64_t{1} << 26;
};

// uint8 [C, H, W]. channels 0 keeps the file's own count (1 to 4); 1 or 3 converts: grey is
// replicated to RGB, RGB becomes grey as (77 R + 150 G + 29 B) / 256, alpha is dropped.
torch::Tensor decode_image(const std::filesystem::path& path, int channels = 0,
                           const ImageDecodeOptions& options = {});

}  // namespace vgrow::io
