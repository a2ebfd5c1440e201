// Image datasets, IDX/CIFAR/folder readers, the CSV loader and the samplers, on files
// generated here in a temporary folder.

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include "vgrow/data/cifar10.h"
#include "vgrow/data/csv_points.h"
#include "vgrow/data/idx.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/data/image_folder.h"
#include "vgrow/io/png.h"
#include "vgrow/io/pixels.h"
#include "test_helpers.h"

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace vgrow::data;

using vgrow::testing::error_of;

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vgrow_data_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes bytes raw, or gzip-compressed when the name ends in .gz.
  fs::path write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    if (path.extension() == ".gz") {
      gzFile f = gzopen(path.c_str(), "wb");
      EXPECT_NE(f, nullptr);
      EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
                static_cast<int>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return path;
  }
  fs::path write_text(const std::string& name, const std::string& text) {
    return write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }

  fs::path dir_;
};

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// n images of rows x cols, pixel k of image i = (7 i + k) mod 256; payload_bytes overrides
// how many pixel bytes follow the header (to make truncated files).
std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols,
                                int64_t payload_bytes = -1, uint32_t magic = 0x803) {
  std::vector<uint8_t> out;
  put_u32(out, magic);
  put_u32(out, n);
  put_u32(out, rows);
  put_u32(out, cols);
  const int64_t payload = payload_bytes >= 0 ? payload_bytes : int64_t{n} * rows * cols;
  for (int64_t b = 0; b < payload; ++b) {
    const int64_t i = b / std::max<int64_t>(int64_t{rows} * cols, 1),
                  k = b % std::max<int64_t>(int64_t{rows} * cols, 1);
    out.push_back(static_cast<uint8_t>((7 * i + k) % 256));
  }
  return out;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> out;
  put_u32(out, 0x801);
  put_u32(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

torch::Tensor expected_idx_images(int64_t n, int64_t rows, int64_t cols) {
  auto i = torch::arange(n).view({n, 1, 1, 1});
  auto k = torch::arange(rows * cols).view({1, 1, rows, cols});
  return ((7 * i + k) % 256).to(torch::kUInt8);
}

// ---------------------------------------------------------------- IDX

using IdxTest = TempDir;

TEST_F(IdxTest, ReadsRawAndGzip) {
  for (const std::string name : {"images.idx", "images.idx.gz"}) {
    const auto images = read_idx_images(write(name, idx_images(3, 4, 5)));
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, 1, 4, 5})) << name;
    EXPECT_EQ(images.scalar_type(), torch::kUInt8);
    EXPECT_TRUE(torch::equal(images, expected_idx_images(3, 4, 5))) << name;
  }
  const auto labels = read_idx_labels(write("labels.gz", idx_labels({3, 0, 9})));
  EXPECT_EQ(labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(labels, torch::tensor({3, 0, 9}, torch::kInt64)));
}

TEST_F(IdxTest, RejectsWrongMagic) {
  const auto labels = write("labels.gz", idx_labels({1, 2}));
  const auto msg = error_of([&] { read_idx_images(labels); });
  EXPECT_THAT(msg, HasSubstr("labels.gz"));
  EXPECT_THAT(msg, HasSubstr("magic number 0x00000801, expected 0x00000803"));
  const auto images = write("images", idx_images(1, 2, 2));
  EXPECT_THAT(error_of([&] { read_idx_labels(images); }), HasSubstr("expected 0x00000801"));
}

TEST_F(IdxTest, RejectsTruncatedFiles) {
  for (const std::string name : {"short.idx", "short.idx.gz"}) {
    const auto path = write(name, idx_images(3, 4, 4, 40));
    const auto msg = error_of([&] { read_idx_images(path); });
    EXPECT_THAT(msg, HasSubstr(name));
    EXPECT_THAT(msg, HasSubstr("truncated"));
    EXPECT_THAT(msg, HasSubstr("promises 48 bytes"));
    EXPECT_THAT(msg, HasSubstr("holds 40"));
  }
  const auto header_only = write("header.gz", {0, 0, 8});
  EXPECT_THAT(error_of([&] { read_idx_images(header_only); }), HasSubstr("header needs 16 bytes"));
}

TEST_F(IdxTest, RejectsDataPastTheItems) {
  const auto path = write("long.idx", idx_images(2, 2, 2, 9));
  EXPECT_THAT(error_of([&] { read_idx_images(path); }), HasSubstr("data past"));
}

TEST_F(IdxTest, RefusesAbsurdHeadersBeforeAllocating) {
  const auto huge = write("huge.gz", idx_images(4000000000u, 28, 28, 0));
  auto msg = error_of([&] { read_idx_images(huge); });
  EXPECT_THAT(msg, HasSubstr("huge.gz"));
  EXPECT_THAT(msg, HasSubstr("4000000000 images of 28x28"));
  EXPECT_THAT(msg, HasSubstr("4294967296-byte limit"));

  // Under the limit but far beyond what 60-odd compressed bytes can inflate to.
  const auto big = write("big.gz", idx_images(1000000, 28, 28, 0));
  EXPECT_THAT(error_of([&] { read_idx_images(big); }), HasSubstr("can hold"));

  const auto dims = write("dims", idx_images(1, 4000000000u, 4000000000u, 0));
  EXPECT_THAT(error_of([&] { read_idx_images(dims); }), HasSubstr("limit"));

  const auto labels = write("labels", idx_labels({1}));
  IdxOptions tight;
  tight.max_bytes = 0;
  EXPECT_THAT(error_of([&] { read_idx_labels(labels, tight); }), HasSubstr("0-byte limit"));
}

TEST_F(IdxTest, RejectsImageLabelCountMismatch) {
  const auto images = write("i.gz", idx_images(3, 2, 2));
  const auto labels = write("l.gz", idx_labels({1, 2}));
  const auto msg = error_of([&] { read_idx_pair(images, labels); });
  EXPECT_THAT(msg, HasSubstr("3 images"));
  EXPECT_THAT(msg, HasSubstr("2 labels"));
  EXPECT_THAT(msg, HasSubstr("l.gz"));
}

TEST_F(IdxTest, MissingFileIsNamed) {
  EXPECT_THAT(error_of([&] { read_idx_images(dir_ / "absent.gz"); }), HasSubstr("absent.gz"));
}

TEST_F(IdxTest, LoadsMnistFolderSplits) {
  write("train-images-idx3-ubyte.gz", idx_images(4, 28, 28));
  write("train-labels-idx1-ubyte.gz", idx_labels({0, 1, 2, 3}));
  write("t10k-images-idx3-ubyte", idx_images(2, 28, 28));  // raw works too
  write("t10k-labels-idx1-ubyte", idx_labels({9, 8}));
  const auto train = load_mnist_folder(dir_, "train");
  EXPECT_EQ(train.images.size(0), 4);
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 1, 2, 3}, torch::kInt64)));
  const auto test = load_mnist_folder(dir_, "test");
  EXPECT_TRUE(torch::equal(test.images, expected_idx_images(2, 28, 28)));
  EXPECT_THAT(error_of([&] { load_mnist_folder(dir_, "valid"); }), HasSubstr("'valid'"));
  EXPECT_THAT(error_of([&] { load_mnist_folder(dir_ / "nope", "train"); }), HasSubstr("nope"));
}

// ---------------------------------------------------------------- CIFAR-10

using CifarTest = TempDir;

// Record r of a batch: label (first_label + r) % 10, pixel k = (r + k) % 256.
std::vector<uint8_t> cifar_batch(int records, int first_label) {
  std::vector<uint8_t> out;
  for (int r = 0; r < records; ++r) {
    out.push_back(static_cast<uint8_t>((first_label + r) % 10));
    for (int k = 0; k < 3072; ++k) out.push_back(static_cast<uint8_t>((r + k) % 256));
  }
  return out;
}

TEST_F(CifarTest, LoadsTrainAndTestSplits) {
  for (int b = 1; b <= 5; ++b) write("data_batch_" + std::to_string(b) + ".bin", cifar_batch(2, b));
  write("test_batch.bin", cifar_batch(3, 0));
  const auto train = load_cifar10(dir_, "train");
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_TRUE(
      torch::equal(train.labels, torch::tensor({1, 2, 2, 3, 3, 4, 4, 5, 5, 6}, torch::kInt64)));
  const auto test = load_cifar10(dir_, "test");
  ASSERT_EQ(test.images.size(0), 3);
  // CHW order: pixel (c, y, x) is byte c*1024 + y*32 + x of the record.
  const auto expected = ((torch::arange(3072) + 1) % 256).to(torch::kUInt8).view({3, 32, 32});
  EXPECT_TRUE(torch::equal(test.images[1], expected));
}

TEST_F(CifarTest, RejectsBadFiles) {
  auto bytes = cifar_batch(2, 0);
  bytes.resize(bytes.size() - 5);
  const auto cut = write("cut.bin", bytes);
  auto msg = error_of([&] { read_cifar10_batch(cut); });
  EXPECT_THAT(msg, HasSubstr("cut.bin"));
  EXPECT_THAT(msg, HasSubstr("multiple of the 3073-byte record"));

  bytes = cifar_batch(3, 0);
  bytes[2 * 3073] = 10;
  const auto bad = write("bad.bin", bytes);
  msg = error_of([&] { read_cifar10_batch(bad); });
  EXPECT_THAT(msg, HasSubstr("record 2 has label 10"));

  write("data_batch_1.bin", cifar_batch(1, 0));
  EXPECT_THAT(error_of([&] { load_cifar10(dir_, "train"); }), HasSubstr("data_batch_2.bin"));
}

// ---------------------------------------------------------------- image folder

using ImageFolderTest = TempDir;

TEST_F(ImageFolderTest, ListsImagesRecursivelyInSortedOrder) {
  const auto grey = torch::zeros({1, 4, 4}, torch::kUInt8);
  for (const auto* name : {"b.png", "a/c.PNG", "a/b.png"}) {
    fs::create_directories((dir_ / name).parent_path());
    vgrow::io::write_png(dir_ / name, grey);
  }
  write_text("notes.txt", "not an image");
  write_text("a/photo.JPEG", "x");
  const auto files = list_image_files(dir_);
  const std::vector<fs::path> expected{dir_ / "a/b.png", dir_ / "a/c.PNG", dir_ / "a/photo.JPEG",
                                       dir_ / "b.png"};
  EXPECT_EQ(files, expected);
}

TEST_F(ImageFolderTest, CentreCropsResizesAndConvertsChannels) {
  // 8 tall x 4 wide: the centre 4x4 square is 200, the rest 10.
  auto tall = torch::full({1, 8, 4}, 10, torch::kUInt8);
  tall.slice(1, 2, 6).fill_(200);
  vgrow::io::write_png(dir_ / "0_tall.png", tall);
  auto rgb = torch::empty({3, 4, 4}, torch::kUInt8);
  rgb[0].fill_(255);
  rgb[1].fill_(0);
  rgb[2].fill_(0);
  vgrow::io::write_png(dir_ / "1_red.png", rgb);

  ImageFolderOptions opts;
  opts.image_size = 2;
  opts.channels = 1;
  auto data = load_image_folder(dir_, opts);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{2, 1, 2, 2}));
  EXPECT_FALSE(data.labels.defined());
  EXPECT_TRUE((data.images[0] == 200).all().item<bool>());
  EXPECT_TRUE((data.images[1] == (255 * 77) / 256).all().item<bool>());  // stb's luma weights

  opts.image_size = 8;  // enlarging a constant square keeps it constant
  opts.channels = 3;
  data = load_image_folder(dir_, opts);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_TRUE((data.images[0] == 200).all().item<bool>());
  EXPECT_TRUE(torch::equal(data.images[1].select(1, 0).select(1, 0),
                           torch::tensor({255, 0, 0}, torch::kUInt8)));

  opts.limit = 1;
  EXPECT_EQ(load_image_folder(dir_, opts).images.size(0), 1);
}

TEST_F(ImageFolderTest, ErrorsNameTheProblem) {
  EXPECT_THAT(error_of([&] { load_image_folder(dir_); }), HasSubstr("no PNG or JPEG"));
  EXPECT_THAT(error_of([&] { load_image_folder(dir_ / "missing"); }), HasSubstr("missing"));
  vgrow::io::write_png(dir_ / "good.png", torch::zeros({3, 4, 4}, torch::kUInt8));
  write_text("sub/broken.jpg", "these bytes are not a JPEG");
  const auto msg = error_of([&] { load_image_folder(dir_); });
  EXPECT_THAT(msg, HasSubstr("cannot read image"));
  EXPECT_THAT(msg, HasSubstr("broken.jpg"));
  ImageFolderOptions two;
  two.channels = 2;
  EXPECT_THAT(error_of([&] { load_image_folder(dir_, two); }), HasSubstr("1 or 3"));
}

// ---------------------------------------------------------------- datasets

using ImageDatasetTest = TempDir;

TEST(ImageDatasetConversion, FloatRangeAndBack) {
  const auto u = torch::tensor({0, 1, 127, 128, 254, 255}, torch::kUInt8);
  const auto f = vgrow::io::to_float(u);
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(f[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(f[5].item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(vgrow::io::to_uint8(f), u));
  EXPECT_TRUE(
      torch::equal(vgrow::io::to_uint8(torch::tensor({-3.0, 3.0})), torch::tensor({0, 255}, torch::kUInt8)));
  EXPECT_THAT(error_of([] { vgrow::io::to_float(torch::zeros({2})); }), HasSubstr("uint8"));
}

TEST(ImageDatasetResize, UpBilinearDownArea) {
  const auto flat = torch::full({3, 1, 28, 28}, 77, torch::kUInt8);
  const auto up = resize_images(flat, 32);
  EXPECT_EQ(up.sizes(), (std::vector<int64_t>{3, 1, 32, 32}));
  EXPECT_EQ(up.scalar_type(), torch::kUInt8);
  EXPECT_TRUE((up == 77).all().item<bool>());
  // Area averaging of a 2x2 checkerboard down to 1x1 is its mean.
  const auto checker = torch::tensor({0, 200, 200, 0}, torch::kUInt8).view({1, 1, 2, 2});
  EXPECT_EQ(resize_images(checker, 1).item<int>(), 100);
}

TEST_F(ImageDatasetTest, LoadsByKindWithLimitAndSize) {
  write("train-images-idx3-ubyte.gz", idx_images(5, 28, 28));
  write("train-labels-idx1-ubyte.gz", idx_labels({4, 3, 2, 1, 0}));
  ImageDatasetOptions opts;
  opts.kind = "mnist";
  opts.path = dir_;
  opts.limit = 3;
  opts.image_size = 32;
  const auto data = load_image_dataset(opts);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{3, 1, 32, 32}));
  EXPECT_EQ(data.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(data.labels, torch::tensor({4, 3, 2}, torch::kInt64)));
  EXPECT_EQ(data.name, "mnist:train");

  opts.kind = "imagenet";
  EXPECT_THAT(error_of([&] { load_image_dataset(opts); }),
              HasSubstr("unknown dataset kind 'imagenet'"));
  opts.kind = "mnist";
  opts.path.clear();
  EXPECT_THAT(error_of([&] { load_image_dataset(opts); }), HasSubstr("needs a path"));
}

TEST(ImageDatasetFashionMnist, LoadsInstalledTestSplit) {
  if (!fs::exists(kFashionMnistDir)) {
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << kFashionMnistDir;
  }
  ImageDatasetOptions opts;
  opts.split = "test";
  const auto data = load_image_dataset(opts);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(data.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(data.labels.max().item<int64_t>(), 9);
  EXPECT_TRUE(torch::equal(torch::bincount(data.labels), torch::full({10}, 1000, torch::kLong)));
  EXPECT_EQ(data.name, "fashion-mnist:test");

  opts.image_size = 32;
  opts.limit = 500;
  const auto big = load_image_dataset(opts);
  EXPECT_EQ(big.images.sizes(), (std::vector<int64_t>{500, 1, 32, 32}));
  // Bilinear enlargement keeps the brightness: means agree to within rounding.
  EXPECT_NEAR(big.images.to(torch::kFloat).mean().item<double>(),
              data.images.slice(0, 0, 500).to(torch::kFloat).mean().item<double>(), 1.0);
}

// ---------------------------------------------------------------- image sampler

// Image i is filled with the value i, so a batch tells which images it drew.
ImageSource numbered_source(int64_t n) {
  return ImageSource(torch::arange(n).to(torch::kUInt8).view({n, 1, 1, 1}).expand({n, 1, 2, 2}),
                     "numbered");
}
std::vector<int64_t> ids(const torch::Tensor& batch) {
  const auto u = vgrow::io::to_uint8(batch).select(1, 0).select(1, 0).select(1, 0).to(torch::kLong);
  return std::vector<int64_t>(u.data_ptr<int64_t>(), u.data_ptr<int64_t>() + u.numel());
}

TEST(ImageSourceSampler, WalksOnePermutationPerEpoch) {
  torch::manual_seed(3);
  auto source = numbered_source(10);
  EXPECT_EQ(source.sample_shape(), (std::vector<int64_t>{1, 2, 2}));
  std::vector<int64_t> drawn;
  for (int b = 0; b < 5; ++b) {
    const auto batch = source.next_batch(4);  // 20 draws: two full epochs
    EXPECT_EQ(batch.sizes(), (std::vector<int64_t>{4, 1, 2, 2}));
    EXPECT_EQ(batch.scalar_type(), torch::kFloat32);
    for (auto i : ids(batch)) drawn.push_back(i);
  }
  EXPECT_EQ(source.epoch(), 1);
  const std::set<int64_t> first(drawn.begin(), drawn.begin() + 10),
      second(drawn.begin() + 10, drawn.end());
  EXPECT_EQ(first.size(), 10u);
  EXPECT_EQ(second.size(), 10u);
  EXPECT_NE(std::vector<int64_t>(drawn.begin(), drawn.begin() + 10),
            std::vector<int64_t>(drawn.begin() + 10, drawn.end()));  // reshuffled, not repeated

  // A batch larger than the dataset spans epochs.
  EXPECT_EQ(source.next_batch(25).size(0), 25);
  EXPECT_EQ(source.epoch(), 4);
}

TEST(ImageSourceSampler, SeededRunsAgree) {
  torch::manual_seed(11);
  auto a = numbered_source(50);
  const auto first = ids(a.next_batch(30));
  torch::manual_seed(11);
  auto b = numbered_source(50);
  EXPECT_EQ(ids(b.next_batch(30)), first);
}

TEST(ImageSourceSampler, SaveLoadStateResumesTheSameBatches) {
  torch::manual_seed(5);
  auto a = numbered_source(10);
  a.next_batch(7);
  torch::serialize::OutputArchive out;
  a.save_state(out);
  std::stringstream buffer;
  out.save_to(buffer);

  torch::manual_seed(99);  // the batches cross a reshuffle, which uses the global generator
  std::vector<std::vector<int64_t>> expected;
  for (int b = 0; b < 4; ++b) expected.push_back(ids(a.next_batch(3)));

  torch::manual_seed(1234);  // a different permutation until the state is loaded
  auto b = numbered_source(10);
  b.next_batch(2);
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  b.load_state(in);
  torch::manual_seed(99);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ids(b.next_batch(3)), expected[i]) << "batch " << i;
  EXPECT_EQ(b.epoch(), a.epoch());

  auto other = numbered_source(12);
  std::stringstream copy(buffer.str());
  torch::serialize::InputArchive again;
  again.load_from(copy);
  EXPECT_THAT(error_of([&] { other.load_state(again); }), HasSubstr("dataset of 10 images"));
}

TEST(ImageSourceSampler, FreshStateRoundTrips) {
  torch::manual_seed(2);
  auto a = numbered_source(6);
  torch::serialize::OutputArchive out;
  a.save_state(out);  // before any batch: no permutation drawn yet
  std::stringstream buffer;
  out.save_to(buffer);
  auto b = numbered_source(6);
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  b.load_state(in);
  torch::manual_seed(8);
  const auto x = ids(a.next_batch(6));
  torch::manual_seed(8);
  EXPECT_EQ(ids(b.next_batch(6)), x);
}

TEST(ImageSourceSampler, PreviewIsFixedAndLeavesTheSamplerAlone) {
  torch::manual_seed(6);
  auto a = numbered_source(10);
  const auto preview = ids(a.preview(15));
  EXPECT_EQ(std::set<int64_t>(preview.begin(), preview.begin() + 10).size(), 10u);
  EXPECT_EQ(ids(a.preview(15)), preview);
  const auto after_preview = ids(a.next_batch(10));
  torch::manual_seed(6);
  auto b = numbered_source(10);
  EXPECT_EQ(ids(b.next_batch(10)), after_preview);  // the previews drew nothing
}

TEST(ImageSourceSampler, RejectsBadInput) {
  EXPECT_THAT(error_of([] {
                ImageSource(torch::zeros({0, 1, 2, 2}, torch::kUInt8), "empty");
              }),
              HasSubstr("no images"));
  EXPECT_THAT(error_of([] {
                ImageSource(torch::zeros({2, 1, 2, 2}), "floats");
              }),
              HasSubstr("uint8"));
  auto s = numbered_source(3);
  EXPECT_THAT(error_of([&] { s.next_batch(0); }), HasSubstr("positive"));
  EXPECT_THAT(s.describe(), HasSubstr("3 images, 1x2x2"));
}

// ---------------------------------------------------------------- CSV points

using CsvTest = TempDir;

TEST_F(CsvTest, ReadsHeaderBlankLinesAndCrlf) {
  const auto path = write_text("pts.csv", "x, y\r\n1.5,-2\r\n\r\n  3e1 , +4 \r\n\n-0.25,0\n");
  const auto points = load_csv_points(path);
  EXPECT_TRUE(
      torch::equal(points, torch::tensor({1.5f, -2.0f, 30.0f, 4.0f, -0.25f, 0.0f}).view({3, 2})));
  EXPECT_EQ(load_csv_points(write_text("plain.csv", "1,2\n")).sizes(),
            (std::vector<int64_t>{1, 2}));
}

TEST_F(CsvTest, ErrorsNameFileLineAndCell) {
  auto msg = error_of([&] { load_csv_points(write_text("bad.csv", "x,y\n1,2\n3,abc\n")); });
  EXPECT_THAT(msg, HasSubstr("bad.csv"));
  EXPECT_THAT(msg, HasSubstr("line 3"));
  EXPECT_THAT(msg, HasSubstr("'abc'"));

  msg = error_of([&] { load_csv_points(write_text("wide.csv", "1,2\n\n1,2,3\n")); });
  EXPECT_THAT(msg, HasSubstr("line 3"));
  EXPECT_THAT(msg, HasSubstr("expected 2 columns, found 3"));

  EXPECT_THAT(error_of([&] { load_csv_points(write_text("one.csv", "x,1\n")); }), HasSubstr("'x'"));
  EXPECT_THAT(error_of([&] { load_csv_points(write_text("nan.csv", "1,nan\n")); }),
              HasSubstr("not finite"));
  EXPECT_THAT(error_of([&] { load_csv_points(dir_ / "absent.csv"); }), HasSubstr("absent.csv"));
  EXPECT_THAT(error_of([&] { load_csv_points(write_text("empty.csv", "x,y\n\n")); }),
              HasSubstr("no points"));
}

TEST_F(CsvTest, PointCloudSourceDrawsRowsWithReplacement) {
  const auto points = torch::tensor({0.0f, 0.0f, 1.0f, 10.0f, 2.0f, 20.0f}).view({3, 2});
  PointCloudSource source(points, "three");
  EXPECT_EQ(source.sample_shape(), (std::vector<int64_t>{2}));
  EXPECT_THAT(source.describe(), HasSubstr("3 points"));
  torch::manual_seed(4);
  const auto batch = source.next_batch(100);
  EXPECT_EQ(batch.sizes(), (std::vector<int64_t>{100, 2}));
  EXPECT_TRUE(torch::equal(batch.select(1, 1), batch.select(1, 0) * 10));  // whole rows
  EXPECT_EQ(std::get<0>(torch::_unique(batch.select(1, 0))).numel(), 3);   // with replacement
  torch::manual_seed(4);
  EXPECT_TRUE(torch::equal(source.next_batch(100), batch));
  const auto preview = source.preview(50);
  EXPECT_TRUE(torch::equal(source.preview(50), preview));
  EXPECT_EQ(preview.sizes(), (std::vector<int64_t>{50, 2}));
  EXPECT_THAT(error_of([] {
                PointCloudSource(torch::zeros({4, 3}), "wide");
              }),
              HasSubstr("[n > 0, 2]"));
}

// ---------------------------------------------------------------- hostile input

// Files and folders built to take unbounded memory or time are refused before the allocation,
// with the number over the limit in the message.
using HostileInputTest = TempDir;

TEST_F(HostileInputTest, IdxHeaderClaimingHugeCountsIsRefusedWithTheByteCount) {
  std::vector<uint8_t> header;
  put_u32(header, 0x801);
  put_u32(header, 1000000000u);
  const auto tiny = write("labels-idx1-ubyte", header);
  auto msg = error_of([&] { read_idx_labels(tiny); });
  EXPECT_THAT(msg, HasSubstr("labels-idx1-ubyte"));
  EXPECT_THAT(msg, HasSubstr("1000000000 labels (9000000000 bytes in memory), over the "
                             "4294967296-byte limit"));

  // The int64 copy counts: 200 labels are 200 bytes in the file, 1800 in memory while read.
  const auto labels = write("labels", idx_labels(std::vector<uint8_t>(200, 7)));
  IdxOptions tight;
  tight.max_bytes = 1799;
  EXPECT_THAT(error_of([&] { read_idx_labels(labels, tight); }),
              HasSubstr("200 labels (1800 bytes in memory), over the 1799-byte limit"));
  tight.max_bytes = 1800;
  EXPECT_EQ(read_idx_labels(labels, tight).size(0), 200);

  // Three 32-bit dimensions whose product overflows 64 bits.
  const auto dims = write("dims.gz", idx_images(4000000000u, 4000000000u, 4000000000u, 0));
  EXPECT_THAT(error_of([&] { read_idx_images(dims); }),
              HasSubstr("(more than 2^64 bytes in memory)"));
}

TEST_F(HostileInputTest, CifarBatchOverTheSizeLimitIsRefusedUnread) {
  const auto big = write("data_batch_1.bin", {});
  fs::resize_file(big, uintmax_t{3073} * 400000);  // sparse: 1.2 GB by its size, none on disk
  const auto msg = error_of([&] { read_cifar10_batch(big); });
  EXPECT_THAT(msg, HasSubstr("data_batch_1.bin"));
  EXPECT_THAT(msg, HasSubstr("has 1229200000 bytes, over the limit of 1073741824 bytes"));
}

// The folder's tensor is sized from the file count before any file is decoded (the broken
// JPEG would fail the decoding).
TEST_F(HostileInputTest, ImageFolderTooLargeForMemoryIsRefusedBeforeDecoding) {
  for (const auto* name : {"a.png", "b.png", "c.png"})
    vgrow::io::write_png(dir_ / name, torch::zeros({3, 8, 8}, torch::kUInt8));
  write_text("d-broken.jpg", "not a JPEG: decoding it would fail");
  ImageFolderOptions opts;
  opts.image_size = 64;
  opts.max_bytes = 4 * 3 * 64 * 64 - 1;
  auto msg = error_of([&] { load_image_folder(dir_, opts); });
  EXPECT_THAT(msg, HasSubstr(dir_.string()));
  EXPECT_THAT(msg,
              HasSubstr("4 images of 3x64x64 take 49152 bytes, over the limit of 49151 bytes"));

  opts = ImageFolderOptions{};
  opts.image_size = int64_t{1} << 20;
  EXPECT_THAT(error_of([&] { load_image_folder(dir_, opts); }),
              HasSubstr("take 13194139533312 bytes, over the limit of 68719476736 bytes"));

  // The limits on each file pass through to the decoder.
  opts = ImageFolderOptions{};
  opts.limit = 3;  // the broken one, last in order, is left out
  EXPECT_EQ(load_image_folder(dir_, opts).images.size(0), 3);
  opts.decode.max_file_bytes = 10;
  msg = error_of([&] { load_image_folder(dir_, opts); });
  EXPECT_THAT(msg, HasSubstr("a.png"));
  EXPECT_THAT(msg, HasSubstr("over the limit of 10 bytes for an image file"));
}

TEST_F(HostileInputTest, ImageFolderWithASymlinkLoopIsAClearError) {
  const auto root = dir_ / "photos";
  fs::create_directories(root / "cats");
  vgrow::io::write_png(root / "cats" / "tom.png", torch::zeros({3, 4, 4}, torch::kUInt8));
  fs::create_directory_symlink(root, root / "cats" / "all");
  auto msg = error_of([&] { list_image_files(root); });
  EXPECT_THAT(msg, HasSubstr("image folder '" + root.string() + "' has a symbolic link loop"));
  EXPECT_THAT(msg, HasSubstr("'" + (root / "cats" / "all").string() + "' leads back to '" +
                             root.string() + "'"));
  EXPECT_THAT(error_of([&] { load_image_folder(root); }), HasSubstr("symbolic link loop"));
  fs::remove(root / "cats" / "all");

  // A link to itself.
  fs::create_symlink("self.png", root / "self.png");
  EXPECT_THAT(error_of([&] { list_image_files(root); }),
              HasSubstr("has a symbolic link loop at '" + (root / "self.png").string() + "'"));
  fs::remove(root / "self.png");

  // Two ways into one folder: its images would be read twice (and with a few such levels,
  // 2^levels times).
  fs::create_directory_symlink(root / "cats", root / "kittens");
  msg = error_of([&] { list_image_files(root); });
  EXPECT_THAT(msg, HasSubstr("reaches the folder '" + (root / "cats").string() +
                             "' a second time, as '" + (root / "kittens").string() + "'"));
  fs::remove(root / "kittens");

  // A dangling link holds nothing and is no error.
  fs::create_symlink(root / "gone.png", root / "dangling.png");
  EXPECT_EQ(list_image_files(root), std::vector<fs::path>{root / "cats" / "tom.png"});
}

}  // namespace
