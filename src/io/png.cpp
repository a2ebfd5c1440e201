#include "vgrow/io/png.h"

#include <memory>

#include <torch/torch.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>

#include "vgrow/data/image_dataset.h"
#include "vgrow/io/atomic_file.h"

namespace vgrow::io {
namespace fs = std::filesystem;

void write_png(const fs::path& path, const torch::Tensor& image) {
  TORCH_CHECK(image.defined() && image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
              "write_png '", path.string(), "' needs an image [C, H, W] with C 1 or 3, got ",
              image.defined() ? c10::str(image.sizes()) : "none");
  TORCH_CHECK(image.size(1) > 0 && image.size(2) > 0, "write_png '", path.string(),
              "': empty image ", image.sizes());
  // stb wants interleaved rows: [H, W, C].
  const auto pixels = data::to_uint8(image.cpu()).permute({1, 2, 0}).contiguous();
  const int h = static_cast<int>(image.size(1)), w = static_cast<int>(image.size(2));
  const int c = static_cast<int>(image.size(0));

  // Written beside the target and renamed, so a reader never sees half a file.
  write_atomically(path, [&](const fs::path& tmp) {
    TORCH_CHECK(stbi_write_png(tmp.c_str(), w, h, c, pixels.data_ptr<uint8_t>(), w * c) != 0,
                "cannot write PNG");
  });
}

torch::Tensor read_png(const fs::path& path) {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &width, &height, &channels, 0), stbi_image_free);
  TORCH_CHECK(pixels != nullptr, "cannot read image '", path.string(),
              "': ", stbi_failure_reason());
  return torch::from_blob(pixels.get(), {height, width, channels}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

}  // namespace vgrow::io
