// Damaged or hostile input files, as the fuzzers in fuzz/ found them: each is refused with an
// error naming the file, never a crash. The inputs live in fuzz/corpus/<target>/.

#include <zlib.h>

#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/io/image_decode.h"
#include "test_helpers.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::TempDir;

using vgrow::testing::error_of;

fs::path corpus_file(const std::string& target, const std::string& name) {
  return fs::path(VGROW_SOURCE_DIR) / "fuzz" / "corpus" / target / name;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// The start of a PNG whose header declares width x height RGB pixels.
std::string png_header(uint32_t width, uint32_t height) {
  const std::string ihdr = "IHDR" + be32(width) + be32(height) + std::string("\x08\x02\0\0\0", 5);
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size());
  return "\x89PNG\r\n\x1a\n" + be32(13) + ihdr + be32(static_cast<uint32_t>(crc));
}

// stb_image 2.27 wrote past its Huffman tables for this JPEG (heap overflow).
TEST(BadInput, JpegWithAnOversizedHuffmanTableIsRefused) {
  const auto file = corpus_file("fuzz_image_folder", "crash-jpeg-huffman-table-overflow");
  const auto message = error_of([&] { vgrow::io::decode_image(file, 3); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("Huffman table"));
}

// stb_image 2.27 decoded this JPEG's first scan with Huffman tables it never defined, read
// from stale heap memory (an assertion in stb fired now and then). Its decoder state is zeroed
// now: the file is refused the same way whatever the heap held before.
TEST(BadInput, JpegUsingAnUndefinedHuffmanTableIsRefusedTheSameEveryTime) {
  const auto file = corpus_file("fuzz_image_folder", "crash-jpeg-undefined-huffman-table");
  const auto first = error_of([&] { vgrow::io::decode_image(file, 1); });
  EXPECT_THAT(first, HasSubstr(file.string()));
  std::vector<std::vector<char>> dirt;
  for (int i = 0; i < 64; ++i) dirt.emplace_back(size_t{1} << 16, static_cast<char>(0xA5 + i));
  dirt.clear();
  EXPECT_EQ(error_of([&] { vgrow::io::decode_image(file, 1); }), first);
}

// stb_image 2.27 called memcpy(NULL, ..., 0) for the empty IDAT chunk, and would have grown
// its buffer to the 2.4 GB the next chunk declares.
TEST(BadInput, PngChunkLongerThanTheFileIsRefused) {
  const auto file = corpus_file("fuzz_image_folder", "crash-png-empty-idat-memcpy-null");
  const auto message = error_of([&] { vgrow::io::decode_image(file, 3); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("runs past the end"));
}

// A 50-byte file must not make the decoder allocate hundreds of megabytes.
TEST(BadInput, ImageHeaderClaimingHugeSizeIsRefusedBeforeDecoding) {
  TempDir dir("vgrow-bad-image");
  const auto file = dir.path() / "huge.png";
  write_file(file, png_header(10000, 10000));
  const auto message = error_of([&] { vgrow::io::decode_image(file); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("10000x10000 pixels, over the limit"));
}

TEST(BadInput, FormatsOtherThanPngAndJpegAreRefused) {
  TempDir dir("vgrow-bad-image");
  const auto file = dir.path() / "really-a-gif.png";
  static const char gif[] = "GIF89a\x01\0\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02L\x01\0;";
  write_file(file, std::string(gif, sizeof(gif) - 1));
  const auto message = error_of([&] { vgrow::io::decode_image(file); });
  EXPECT_THAT(message, HasSubstr(file.string()));
}

// Two flipped bytes made LibTorch throw TorchScript's ErrorReport, which is no c10::Error.
// The CRC check now stops them first (with their CRCs fixed, the code check: ZipCheck.*).
TEST(BadInput, CorruptCheckpointIsRefusedByItsCrc) {
  const auto file = corpus_file("fuzz_checkpoint", "crash-torchscript-error-escapes");
  const auto message = error_of([&] { vgrow::io::checkpoint_config(file); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("fails its CRC-32 check"));
}

TEST(BadInput, TruncatedCheckpointIsRefused) {
  TempDir dir("vgrow-bad-ckpt");
  const auto file = dir.path() / "checkpoint-000001.pt";
  std::ifstream in(corpus_file("fuzz_checkpoint", "toy-mlp.pt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  write_file(file, bytes.substr(0, bytes.size() - 100));
  const auto message = error_of([&] { vgrow::io::checkpoint_config(file); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("damaged"));
}

// Code of the right shape that LibTorch's compiler refuses (an unknown type name) makes it
// throw its ErrorReport, which is no c10::Error either.
TEST(BadInput, CorruptCheckpointIsNamedWhateverLibTorchThrows) {
  const auto file = corpus_file("fuzz_checkpoint", "unknown-type.pt");
  const auto message = error_of([&] { vgrow::io::checkpoint_config(file); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("not a readable vgrow checkpoint"));
}

// toml++ 3.3.0 aborted (or, built by clang without assertions, assumed the impossible) on a
// table header that starts with a character no key can start with.
TEST(BadInput, TableHeaderWithoutAKeyIsAParseError) {
  for (const std::string text : {"[=]\n", "[ # ]\n", "[[.a]]\n"}) {
    vgrow::Config config;
    const auto message = error_of([&] { vgrow::apply_toml(config, text, "bad.toml"); });
    EXPECT_THAT(message, HasSubstr("cannot parse config bad.toml:1")) << text;
  }
}

}  // namespace
