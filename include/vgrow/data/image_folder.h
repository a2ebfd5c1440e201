#pragma once
// A user's own images: every PNG/JPEG under a folder, recursively, in sorted path order.

#include <filesystem>

#include "vgrow/data/image_dataset.h"

namespace vgrow::data {

struct ImageFolderOptions {
  int64_t image_size = 32;  // each image is centre-cropped to a square, then resized to this
  int64_t channels = 3;     // 1 or 3; images are converted
  int64_t limit = 0;        // decode only the first `limit` files; 0 decodes all
};

// The files load_image_folder would read, in its order.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& root);

// images uint8 [N, channels, image_size, image_size]; no labels.
ImageDataset load_image_folder(const std::filesystem::path& root,
                               const ImageFolderOptions& options = {});

}  // namespace vgrow::data
