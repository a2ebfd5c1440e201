#pragma once
// MNIST-family IDX files (LeCun's format), gzip-compressed or raw.

#include <cstdint>
#include <filesystem>

#include "vgrow/data/image_dataset.h"

namespace vgrow::data {

struct IdxOptions {
  // Headers whose items would take more memory than this while read are refused before
  // anything is allocated, with the byte count: images take a byte a pixel, labels 9 bytes
  // each (the byte read and its int64 copy). 4 GiB is about 90 times Fashion-MNIST's 60000
  // training images (47 MB), and refuses a header that claims billions of items.
  int64_t max_bytes = int64_t{4} << 30;
};

// Image file (magic 0x00000803) -> uint8 [N, 1, rows, cols].
torch::Tensor read_idx_images(const std::filesystem::path& path, const IdxOptions& options = {});
// Label file (magic 0x00000801) -> int64 [N].
torch::Tensor read_idx_labels(const std::filesystem::path& path, const IdxOptions& options = {});

// An image file and its label file, checked to hold the same number of items.
ImageDataset read_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                           const IdxOptions& options = {});

// The split ("train" or "test") of an MNIST-layout folder: train-images-idx3-ubyte[.gz],
// train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz].
ImageDataset load_mnist_folder(const std::filesystem::path& dir, const std::string& split,
                               const IdxOptions& options = {});

}  // namespace vgrow::data
