// The limits of decode_image on hostile files: a small file whose header claims gigabytes of
// pixels, and a file too large to read into memory, are refused up front with the number
// over the limit in the message.

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "vgrow/io/image_decode.h"
#include "vgrow/io/png.h"
#include "test_helpers.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::io::decode_image;
using vgrow::io::ImageDecodeOptions;
using vgrow::testing::error_of;
using vgrow::testing::TempDir;

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// A PNG that is only a header: width x height pixels of the given bit depth and colour type
// (2 RGB, 6 RGBA), with a correct CRC.
fs::path png_header(const fs::path& file, uint32_t width, uint32_t height, char depth = 8,
                    char colour = 2) {
  const std::string ihdr =
      "IHDR" + be32(width) + be32(height) + std::string{depth, colour, 0, 0, 0};
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size());
  std::ofstream(file, std::ios::binary)
      << "\x89PNG\r\n\x1a\n" + be32(13) + ihdr + be32(static_cast<uint32_t>(crc));
  return file;
}

fs::path corpus_file(const std::string& name) {
  return fs::path(VGROW_SOURCE_DIR) / "fuzz" / "corpus" / "fuzz_image_folder" / name;
}

// stb_image refuses this header itself, as "Image too large to decode" without a number.
TEST(ImageDecodeLimits, HugePngHeaderIsRefusedWithItsSize) {
  TempDir dir("vgrow-decode-huge");
  const auto file = png_header(dir.path() / "huge.png", 100000, 100000);
  ASSERT_LT(fs::file_size(file), 64u);
  auto message = error_of([&] { decode_image(file); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("100000x100000 pixels, over the limit of 67108864 pixels"));

  // With the pixel limit lifted, the decoded bytes are the limit, counted exactly.
  ImageDecodeOptions no_pixel_limit;
  no_pixel_limit.max_pixels = std::numeric_limits<int64_t>::max();
  message = error_of([&] { decode_image(file, 0, no_pixel_limit); });
  EXPECT_THAT(message, HasSubstr("100000x100000 pixels of 3 channels at 8 bits "
                                 "(30000000000 bytes decoded), over the limit of 1073741824"));

  // 16-bit samples count twice; the largest header a PNG can hold does not overflow.
  png_header(file, 20000, 20000, 16, 6);
  EXPECT_THAT(error_of([&] { decode_image(file, 3, no_pixel_limit); }),
              HasSubstr("4 channels at 16 bits (3200000000 bytes decoded)"));
  png_header(file, 0xFFFFFFFFu, 0xFFFFFFFFu, 16, 6);
  EXPECT_THAT(error_of([&] { decode_image(file); }),
              HasSubstr("4294967295x4294967295 pixels, over the limit"));
}

// The channels asked for count when there are more of them than the file holds.
TEST(ImageDecodeLimits, DecodedBytesCountTheChannelsAskedFor) {
  TempDir dir("vgrow-decode-bytes");
  const auto png = dir.path() / "rgb.png";
  vgrow::io::write_png(png, torch::zeros({3, 64, 64}, torch::kUInt8));
  ImageDecodeOptions tight;
  tight.max_decoded_bytes = 64 * 64 * 3;
  EXPECT_EQ(decode_image(png, 3, tight).sizes(), (std::vector<int64_t>{3, 64, 64}));
  EXPECT_EQ(decode_image(png, 1, tight).sizes(), (std::vector<int64_t>{1, 64, 64}));
  const auto message = error_of([&] { decode_image(png, 4, tight); });
  EXPECT_THAT(message, HasSubstr(png.string()));
  EXPECT_THAT(message, HasSubstr("64x64 pixels of 4 channels at 8 bits (16384 bytes decoded), "
                                 "over the limit of 12288 bytes"));

  // A JPEG's size comes from stb_image's reading of its frame header.
  const auto jpeg = corpus_file("grey-5x7.jpg");
  tight.max_decoded_bytes = 5 * 7 * 3 - 1;
  EXPECT_EQ(decode_image(jpeg, 1, tight).size(0), 1);
  EXPECT_THAT(error_of([&] { decode_image(jpeg, 3, tight); }),
              HasSubstr("(105 bytes decoded), over the limit of 104 bytes"));
}

// A sparse file: 300 MiB by its size, nothing on disk, refused without being read.
TEST(ImageDecodeLimits, FileOverTheSizeLimitIsRefusedUnread) {
  TempDir dir("vgrow-decode-file");
  const auto big = dir.path() / "big.png";
  std::ofstream(big).close();
  fs::resize_file(big, uintmax_t{300} << 20);
  auto message = error_of([&] { decode_image(big); });
  EXPECT_THAT(message, HasSubstr(big.string()));
  EXPECT_THAT(message, HasSubstr("is a file of 314572800 bytes, over the limit of 268435456"));

  const auto small = dir.path() / "small.png";
  vgrow::io::write_png(small, torch::zeros({1, 4, 4}, torch::kUInt8));
  ImageDecodeOptions tiny;
  tiny.max_file_bytes = 10;
  message = error_of([&] { decode_image(small, 0, tiny); });
  EXPECT_THAT(message, HasSubstr("bytes, over the limit of 10 bytes for an image file"));
  EXPECT_EQ(decode_image(small).sizes(), (std::vector<int64_t>{1, 4, 4}));

  EXPECT_THAT(error_of([&] { decode_image(dir.path()); }), HasSubstr("not a regular file"));
  EXPECT_THAT(error_of([&] { decode_image(dir.path() / "absent.png"); }),
              HasSubstr("absent.png"));
}

}  // namespace
