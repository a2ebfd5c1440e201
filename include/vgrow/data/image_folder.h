#pragma once
// A user's own images: every PNG/JPEG under a folder, recursively, in sorted path order.

#include <filesystem>

#include "vgrow/data/image_dataset.h"
#include "vgrow/io/image_decode.h"

namespace vgrow::data {

struct ImageFolderOptions {
  int64_t image_size = 32;  // each image is centre-cropped to a square, then resized to this
  int64_t channels = 3;     // 1 or 3; images are converted
  int64_t limit = 0;        // decode only the first `limit` files; 0 decodes all
  // The uint8 tensor of all images (files x channels x image_size x image_size) is refused
  // before anything is decoded when it would take more than this: 64 GiB holds CelebA's
  // 202599 faces at 256 x 256 (40 GB) and refuses an image_size or a folder far beyond what
  // a machine's memory holds.
  int64_t max_bytes = int64_t{64} << 30;
  io::ImageDecodeOptions decode = {};  // the limits on each file
};

// The files load_image_folder would read, in its order. Symbolic links are followed, but a
// folder reached twice (a link loop, or two ways to the same folder, whose images would be
// read twice) is an error naming `root`.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& root);

// images uint8 [N, channels, image_size, image_size]; no labels.
ImageDataset load_image_folder(const std::filesystem::path& root,
                               const ImageFolderOptions& options = {});

}  // namespace vgrow::data
