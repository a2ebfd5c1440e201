#pragma once
// CIFAR-10 binary batches: records of 1 label byte followed by 3072 bytes of CHW pixels.

#include <filesystem>
#include <string>

#include "vgrow/data/image_dataset.h"

namespace vgrow::data {

// One batch file -> images uint8 [N, 3, 32, 32], labels int64 [N] in 0..9. A file over 1 GiB
// (35 times a real batch) is refused from its size, before it is read.
ImageDataset read_cifar10_batch(const std::filesystem::path& path);

// "train": data_batch_1.bin .. data_batch_5.bin of dir, concatenated; "test": test_batch.bin.
ImageDataset load_cifar10(const std::filesystem::path& dir, const std::string& split);

}  // namespace vgrow::data
