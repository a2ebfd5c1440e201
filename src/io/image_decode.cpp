#include "vgrow/io/image_decode.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include <torch/torch.h>

// Every other format stb_image knows (GIF, PSD, HDR, PIC, PNM, TGA, BMP) is compiled out: no
// data set uses them, and they are where most of stb_image's known memory bugs are.
// stb_image 2.27 also reads the Huffman and quantisation tables of a JPEG that never defined
// them from its freshly malloc'ed decoder state (found by fuzz/fuzz_image_folder: stale heap
// bytes then steer the decoder, index past its tables and end up in pixels). With zeroed
// allocations such a file decodes deterministically to something harmless.
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(pointer, size) std::realloc(pointer, size)
#define STBI_FREE(pointer) std::free(pointer)
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

namespace vgrow::io {
namespace fs = std::filesystem;
namespace {

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.is_open(), "cannot open image '", path.string(), "'");
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  TORCH_CHECK(!in.bad(), "error reading image '", path.string(), "'");
  TORCH_CHECK(bytes.size() <= INT_MAX, "image '", path.string(), "' has ", bytes.size(),
              " bytes, more than an image file can hold");
  return bytes;
}

// Where stb_image takes the data for a JPEG, the offset after its start-of-image marker
// (0xFF, any more 0xFF, 0xD8); 0 for anything else.
size_t jpeg_start(std::string_view b) {
  size_t i = 0;
  while (i < b.size() && static_cast<unsigned char>(b[i]) == 0xFF) ++i;
  return i > 0 && i < b.size() && static_cast<unsigned char>(b[i]) == 0xD8 ? i + 1 : 0;
}

// stb_image 2.27 (Debian 12's libstb-dev) writes past its Huffman tables when a DHT segment
// declares more than 256 codes (a few bytes of a crafted JPEG overwrite the heap; fixed in
// stb_image 2.28). This walks the markers as stb's decoder reads them (junk and entropy-coded
// bytes skipped up to the next 0xFF xx, tables parsed one by one, bytes past the end read as
// 0) and refuses such a table before stb_image sees it.
void check_jpeg_huffman_tables(std::string_view b, size_t i, const fs::path& path) {
  const auto at = [&](size_t k) -> int { return k < b.size() ? static_cast<unsigned char>(b[k]) : 0; };
  while (i < b.size()) {
    if (at(i++) != 0xFF) continue;
    while (i < b.size() && at(i) == 0xFF) ++i;
    const int marker = at(i++);
    // Stuffed zero, restart markers and TEM carry no length; EOI ends the image.
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9) return;
    const int length = at(i) << 8 | at(i + 1);
    if (marker == 0xC4) {
      size_t table = i + 2;
      for (int left = length - 2; left > 0 && table < b.size();) {
        int codes = 0;
        for (int bits = 1; bits <= 16; ++bits) codes += at(table + bits);
        TORCH_CHECK(codes <= 256, "cannot read image '", path.string(),
                    "': corrupt JPEG (a Huffman table declares ", codes, " codes, at most 256)");
        table += 17 + codes;
        left -= 17 + codes;
      }
    }
    i += length;
  }
}

bool is_png(std::string_view b) { return b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8); }

// stb_image 2.27 grows its buffer to the length a PNG chunk declares before reading it (a
// 100-byte file could make it allocate 2 GiB), and for an empty first IDAT chunk it calls
// memcpy(NULL, ..., 0) (found by fuzz/fuzz_image_folder). So every chunk's data must fit in
// the file, and empty IDAT chunks, which hold nothing, are taken out.
void check_png_chunks(std::string& b, const fs::path& path) {
  const auto be32 = [&](size_t k) {
    uint64_t v = 0;
    for (size_t j = 0; j < 4; ++j) v = v << 8 | static_cast<unsigned char>(b[k + j]);
    return v;
  };
  for (size_t i = 8; i + 8 <= b.size();) {
    const auto length = be32(i);
    const auto type = std::string_view(b).substr(i + 4, 4);
    TORCH_CHECK(length <= b.size() - i - 8, "cannot read image '", path.string(),
                "': corrupt PNG (a ", type, " chunk of ", length, " bytes runs past the end)");
    if (type == "IEND") return;
    if (type == "IDAT" && length == 0) {
      b.erase(i, std::min<size_t>(12, b.size() - i));
    } else {
      i += 12 + length;
    }
  }
}

}  // namespace

torch::Tensor decode_image(const fs::path& path, int channels, const ImageDecodeOptions& options) {
  TORCH_CHECK(channels >= 0 && channels <= 4, "decode_image: channels must be 0 to 4, got ",
              channels);
  auto bytes = read_bytes(path);
  if (const auto start = jpeg_start(bytes)) check_jpeg_huffman_tables(bytes, start, path);
  if (is_png(bytes)) check_png_chunks(bytes, path);
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int width = 0, height = 0, stored = 0;
  TORCH_CHECK(stbi_info_from_memory(data, size, &width, &height, &stored), "cannot read image '",
              path.string(), "': ", stbi_failure_reason());
  TORCH_CHECK(int64_t{width} * height <= options.max_pixels, "image '", path.string(), "' is ",
              width, "x", height, " pixels, over the limit of ", options.max_pixels);
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, size, &width, &height, &stored, channels), stbi_image_free);
  TORCH_CHECK(pixels != nullptr, "cannot read image '", path.string(),
              "': ", stbi_failure_reason());
  const int kept = channels == 0 ? stored : channels;
  return torch::from_blob(pixels.get(), {height, width, kept}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

}  // namespace vgrow::io
