// Checkpoints are checked before LibTorch parses them: the zip structure, every entry's CRC-32,
// the encodings LibTorch itself writes (stored entries, and deflated TorchScript code alone),
// and code that only declares attributes. The archives here are built byte by byte, tiny
// ones with an entry of each kind, besides files from the fuzz corpus.

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "test_helpers.h"
#include "vgrow/io/zip_check.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::error_of;
using vgrow::testing::TempDir;

constexpr uint16_t kStored = 0, kDeflated = 8, kBzip2 = 12;

struct Entry {
  std::string name;
  std::string content;
  uint16_t method = kStored;  // kDeflated deflates `content`; any other keeps it as it is
};

std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>(v >> (8 * i));
  return out;
}

std::string raw_deflate(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A zip archive of `entries`: local headers and data, the central directory, its end record.
std::string make_zip(const std::vector<Entry>& entries) {
  std::string out, directory;
  for (const auto& e : entries) {
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(e.content.data()),
                           static_cast<uInt>(e.content.size()));
    const auto data = e.method == kDeflated ? raw_deflate(e.content) : e.content;
    const auto offset = out.size();
    // version needed, flags, method, time, date, CRC-32, sizes, name length, extra length
    const auto common = le(20, 2) + le(0, 2) + le(e.method, 2) + le(0, 4) + le(crc, 4) +
                        le(data.size(), 4) + le(e.content.size(), 4) + le(e.name.size(), 2) +
                        le(0, 2);
    out += le(0x04034b50, 4) + common + e.name + data;
    // + version made by; comment length, disk, attributes, local header offset
    directory += le(0x02014b50, 4) + le(20, 2) + common + le(0, 2) + le(0, 2) + le(0, 2) +
                 le(0, 4) + le(offset, 4) + e.name;
  }
  const auto directory_offset = out.size();
  return out + directory + le(0x06054b50, 4) + le(0, 4) + le(entries.size(), 2) +
         le(entries.size(), 2) + le(directory.size(), 4) + le(directory_offset, 4) + le(0, 2);
}

class ZipCheck : public ::testing::Test {
 protected:
  // Writes the archive and returns the error verify_zip throws for it, "" for none.
  std::string verify(const std::string& archive, const vgrow::io::ZipCheckOptions& options = {}) {
    std::ofstream(file_, std::ios::binary) << archive;
    try {
      vgrow::io::verify_zip(file_, what(), options);
    } catch (const c10::Error& e) {
      return e.what_without_backtrace();
    }
    return {};
  }
  std::string what() const { return "checkpoint '" + file_.string() + "'"; }

  TempDir dir_{"vgrow-zip-check"};
  fs::path file_ = dir_.path() / "checkpoint-000001.pt";
};

fs::path corpus_file(const std::string& name) {
  return fs::path(VGROW_SOURCE_DIR) / "fuzz" / "corpus" / "fuzz_checkpoint" / name;
}

const std::string kPickle = std::string("\x80\x02}q\x00.", 6);
const std::string kCode = "class Module(Module):\n  __parameters__ = []\n  __buffers__ = []\n";

TEST_F(ZipCheck, StoredEntriesPass) {
  EXPECT_EQ(verify(make_zip({{"archive/data.pkl", kPickle}, {"archive/version", "3\n"}})), "");
}

TEST_F(ZipCheck, DeflatedTorchScriptCodePasses) {
  // LibTorch deflates its code records over 200 bytes, and only those.
  std::string code = kCode;
  for (int i = 0; i < 20; ++i) code += "  w" + std::to_string(i) + " : Tensor\n";
  EXPECT_EQ(verify(make_zip({{"archive/data.pkl", kPickle},
                             {"archive/version", "3\n"},
                             {"archive/code/__torch__.py", code, kDeflated},
                             {"archive/code/__torch__.py.debug_pkl", kPickle, kDeflated}})),
            "");
}

TEST_F(ZipCheck, ACheckpointLibTorchWrotePasses) {
  // Written by `vgrow train` (fuzz/make_corpus.py); some of its code records are deflated.
  EXPECT_EQ(verify(vgrow::testing::file_contents(corpus_file("toy-mlp.pt"))), "");
}

TEST_F(ZipCheck, ADeflatedEntryOutsideTheCodeIsRefusedNamingFileAndEntry) {
  for (const std::string name :
       {"archive/data.pkl", "archive/data/0", "code/__torch__.py", "archive/extra/code/x.py"}) {
    const auto message =
        verify(make_zip({{"archive/version", "3\n"}, {name, kPickle + kCode, kDeflated}}));
    EXPECT_THAT(message, HasSubstr(what())) << name;
    EXPECT_THAT(message, HasSubstr("entry '" + name + "' is compressed")) << name;
    EXPECT_THAT(message, HasSubstr("only stored entries are accepted")) << name;
  }
}

TEST_F(ZipCheck, OtherCompressionMethodsAreRefused) {
  const auto message = verify(make_zip({{"archive/code/__torch__.py", kCode, kBzip2}}));
  EXPECT_THAT(message, HasSubstr(what()));
  EXPECT_THAT(message, HasSubstr("entry 'archive/code/__torch__.py' has compression method 12"));
}

TEST_F(ZipCheck, CodeThatWouldInflateTooFarIsRefused) {
  // 17 MiB of one byte deflates to some 17 KiB: a bomb in miniature.
  const auto message =
      verify(make_zip({{"archive/code/__torch__.py", std::string(17 << 20, ' '), kDeflated}}));
  EXPECT_THAT(message, HasSubstr("entry 'archive/code/__torch__.py' holds 17825792 bytes of "
                                 "TorchScript code"));
}

TEST_F(ZipCheck, CodeThatDoesMoreThanDeclareAttributesIsRefused) {
  const auto archive = make_zip(
      {{"archive/data.pkl", kPickle},
       {"archive/version", "3\n"},
       {"archive/code/__torch__.py", kCode + "  weight : Tensor\n  def forward(self):\n"}});
  EXPECT_THAT(verify(archive),
              HasSubstr("entry 'archive/code/__torch__.py' line 5 is no attribute declaration: "
                        "'  def forward(self):'"));
  // A TorchScript module with methods (an Inception file) is checked without that rule.
  EXPECT_EQ(verify(archive, {.attributes_only = false}), "");
}

TEST_F(ZipCheck, TheCodeThatCrashedLibTorchIsRefused) {
  // The fuzzer's crash-torchscript-parser-segv with its CRCs made right: LibTorch 1.13's
  // TorchScript compiler dies of a segmentation fault on it.
  const auto message =
      verify(vgrow::testing::file_contents(corpus_file("torchscript-parser-segv-valid-crcs.pt")));
  EXPECT_THAT(message, HasSubstr("code/__torch__/___torch_mangle_0.py' line 3 is no attribute "
                                 "declaration: '  __annotatio = []'"));
}

TEST_F(ZipCheck, AFlippedByteFailsTheCrc) {
  auto archive = make_zip({{"archive/data.pkl", kPickle}, {"archive/version", "3\n"}});
  archive[archive.find("archive/version") + 15] = '4';  // the first byte after its local header
  EXPECT_THAT(verify(archive), HasSubstr("entry 'archive/version' fails its CRC-32 check"));
}

// LibTorch's reader checks these only after it has set itself up, then throws from its
// constructor and leaks (LeakSanitizer, fuzz_stats_cache): they are refused before it runs.
TEST_F(ZipCheck, AnArchiveLibTorchWouldNotOpenIsRefusedFirst) {
  const auto refused = [&](const std::vector<Entry>& entries, const std::string& why) {
    const auto message = verify(make_zip(entries));
    EXPECT_THAT(message, HasSubstr(what())) << why;
    EXPECT_THAT(message, HasSubstr(why));
  };
  refused({}, "the archive holds no entries");
  refused({{"data.pkl", kPickle}, {"archive/version", "3\n"}},
          "its first entry 'data.pkl' is in no folder");
  refused({{"archive/data.pkl", kPickle}}, "it has no 'archive/version' record");
  refused({{"archive/data.pkl", kPickle}, {"other/version", "3\n"}},
          "it has no 'archive/version' record");
  refused({{"archive/version", "3\n"}, {"archive/VERSION", "4\n"}},
          "two entries are named 'archive/version'");
  for (const std::string version : {"", "x", "3 ", "0", "99999", "-1", "18446744073709551616"}) {
    refused({{"archive/data.pkl", kPickle}, {"archive/version", version}},
            "its format version '" + version.substr(0, 100));
  }
  // The version may also sit under .data/, and it is read from there first.
  EXPECT_EQ(verify(make_zip({{"archive/data.pkl", kPickle}, {"archive/.data/version", "3\n"}})),
            "");
  refused({{"archive/.data/version", "x"}, {"archive/version", "3\n"}}, "format version 'x'");
}

}  // namespace
