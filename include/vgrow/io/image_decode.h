#pragma once
// Decoding PNG and JPEG files of unknown origin (a user's image folder, `vgrow eval DIR`):
// only these two formats, with the image size checked before anything is allocated.

#include <cstdint>
#include <filesystem>

#include <torch/types.h>

namespace vgrow::io {

// Limits that bound the memory one hostile file can make the decoder take, each checked
// before the allocation it guards; the error names the file and the number over the limit.
struct ImageDecodeOptions {
  // Files larger than this are refused from their size, before they are read into memory:
  // 256 MiB is an 8192 x 8192 RGBA image stored without any compression, the most a file
  // within max_pixels needs (capped at 2 GiB - 1, the most stb_image can take).
  int64_t max_file_bytes = int64_t{256} << 20;
  // Images with more pixels than this are refused from their header (8192 x 8192); it also
  // bounds the float copies that cropping and resizing make of one image.
  int64_t max_pixels = int64_t{1} << 26;
  // Images whose samples as stb_image decodes them (width x height x the larger of the file's
  // channels and those asked for x 2 bytes for 16-bit PNGs, 1 otherwise) would take more than
  // this are refused from their header: 1 GiB, twice what a 16-bit RGBA image within
  // max_pixels needs, so it bounds the decoder where max_pixels is raised.
  int64_t max_decoded_bytes = int64_t{1} << 30;
};

// uint8 [C, H, W]. channels 0 keeps the file's own count (1 to 4); 1 or 3 converts: grey is
// replicated to RGB, RGB becomes grey as (77 R + 150 G + 29 B) / 256, alpha is dropped.
torch::Tensor decode_image(const std::filesystem::path& path, int channels = 0,
                           const ImageDecodeOptions& options = {});

}  // namespace vgrow::io
