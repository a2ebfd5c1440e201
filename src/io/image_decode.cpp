#include "vgrow/io/image_decode.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <c10/util/safe_numerics.h>
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

// The product, or UINT64_MAX where it would overflow (a header's fields can be 2^32 - 1).
uint64_t saturating_product(std::initializer_list<uint64_t> factors) {
  uint64_t product = 0;
  return c10::safe_multiplies_u64(factors, &product) ? UINT64_MAX : product;
}

bool over(uint64_t value, int64_t limit) {
  return value > static_cast<uint64_t>(std::max<int64_t>(limit, 0));
}

// The whole file, refused from its size (before anything is read) when over `max_bytes`.
std::string read_bytes(const fs::path& path, int64_t max_bytes) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  TORCH_CHECK(!ec, "cannot open image '", path.string(), "': ", ec.message());
  TORCH_CHECK(fs::is_regular_file(status), "image '", path.string(), "' is not a regular file");
  const auto size = fs::file_size(path, ec);
  TORCH_CHECK(!ec, "cannot open image '", path.string(), "': ", ec.message());
  // stb_image takes the length as an int.
  const int64_t limit = std::min<int64_t>(max_bytes, INT_MAX);
  TORCH_CHECK(!over(size, limit), "image '", path.string(), "' is a file of ", size,
              " bytes, over the limit of ", limit, " bytes for an image file");
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.is_open(), "cannot open image '", path.string(), "'");
  // Never more than the size checked above, even if the file grew since.
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  TORCH_CHECK(!in.bad(), "error reading image '", path.string(), "'");
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// What decoding an image costs: its size and the samples stb_image holds for it.
struct DecodedSize {
  int64_t width = 0, height = 0;
  int channels = 0;      // the most of the file's own and those asked for
  int sample_bytes = 1;  // 2 for 16-bit PNGs, decoded at 16 bits and then narrowed
};

// Refuses an image over the pixel limit or whose decoded samples are over the byte limit.
void check_decoded_size(const DecodedSize& d, const fs::path& path,
                        const ImageDecodeOptions& options) {
  const auto width = static_cast<uint64_t>(d.width), height = static_cast<uint64_t>(d.height);
  TORCH_CHECK(!over(saturating_product({width, height}), options.max_pixels), "image '",
              path.string(), "' is ", d.width, "x", d.height, " pixels, over the limit of ",
              options.max_pixels, " pixels");
  const auto bytes = saturating_product({width, height, static_cast<uint64_t>(d.channels),
                                         static_cast<uint64_t>(d.sample_bytes)});
  TORCH_CHECK(!over(bytes, options.max_decoded_bytes), "image '", path.string(), "' is ",
              d.width, "x", d.height, " pixels of ", d.channels, " channels at ",
              8 * d.sample_bytes, " bits (", bytes, " bytes decoded), over the limit of ",
              options.max_decoded_bytes, " bytes");
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

// A PNG's size from its IHDR chunk, which stb_image insists comes first. Read here because
// stb_image refuses a header of over 2^30 bytes ("Image too large to decode") without saying
// how large it is. Palette images are counted as RGBA, what stb_image may expand them to.
std::optional<DecodedSize> png_size(std::string_view b, int channels) {
  if (b.size() < 8 + 8 + 13 || b.substr(12, 4) != "IHDR") return std::nullopt;
  const auto at = [&](size_t k) { return int64_t{static_cast<unsigned char>(b[k])}; };
  const auto be32 = [&](size_t k) {
    return at(k) << 24 | at(k + 1) << 16 | at(k + 2) << 8 | at(k + 3);
  };
  const int64_t depth = at(24), colour = at(25);
  const int stored = colour == 3 ? 4 : (colour & 2 ? 3 : 1) + (colour & 4 ? 1 : 0);
  return DecodedSize{be32(16), be32(20), std::max(stored, channels), depth == 16 ? 2 : 1};
}

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
  auto bytes = read_bytes(path, options.max_file_bytes);
  if (const auto start = jpeg_start(bytes)) check_jpeg_huffman_tables(bytes, start, path);
  if (is_png(bytes)) {
    check_png_chunks(bytes, path);
    if (const auto size = png_size(bytes, channels)) check_decoded_size(*size, path, options);
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int width = 0, height = 0, stored = 0;
  TORCH_CHECK(stbi_info_from_memory(data, size, &width, &height, &stored), "cannot read image '",
              path.string(), "': ", stbi_failure_reason());
  // The size as stb_image reads it, which is what it will allocate for (for a JPEG, the
  // first check of its size).
  check_decoded_size({width, height, std::max(stored, channels),
                      stbi_is_16_bit_from_memory(data, size) ? 2 : 1},
                     path, options);
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
