#include "vgrow/io/png.h"

#include <string>

#include <torch/torch.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "vgrow/io/pixels.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/io/image_decode.h"

namespace vgrow::io {
namespace fs = std::filesystem;

void write_png(const fs::path& path, const torch::Tensor& image) {
  TORCH_CHECK(image.defined() && image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
              "write_png '", path.string(), "' needs an image [C, H, W] with C 1 or 3, got ",
              image.defined() ? c10::str(image.sizes()) : "none");
  TORCH_CHECK(image.size(1) > 0 && image.size(2) > 0, "write_png '", path.string(),
              "': empty image ", image.sizes());
  // stb wants interleaved rows: [H, W, C].
  const auto pixels = to_uint8(image.cpu()).permute({1, 2, 0}).contiguous();
  const int h = static_cast<int>(image.size(1)), w = static_cast<int>(image.size(2));
  const int c = static_cast<int>(image.size(0));

  // Encoded in memory and written by write_bytes_atomically, which checks every write (stb's
  // own file writer ignores fwrite and fclose errors, so a full disk went unnoticed).
  std::string png;
  const auto append = [](void* out, void* data, int size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  };
  TORCH_CHECK(stbi_write_png_to_func(append, &png, w, h, c, pixels.data_ptr<uint8_t>(), w * c) != 0,
              "cannot encode PNG '", path.string(), "'");
  write_bytes_atomically(path, png);
}

torch::Tensor read_png(const fs::path& path) { return decode_image(path); }

}  // namespace vgrow::io
