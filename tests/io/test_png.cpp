// PNG writing/reading and sample grids.

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/io/image_grid.h"
#include "vgrow/io/png.h"
#include "test_helpers.h"

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace vgrow::io;

using vgrow::testing::error_of;

class PngTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vgrow_png_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Temporaries are "<name>.tmp-<pid>-<random>" (atomic_file.h): none may be left behind.
  size_t temporaries() const {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      n += e.path().filename().string().find(".tmp") != std::string::npos;
    }
    return n;
  }
  fs::path dir_;
};

TEST_F(PngTest, RoundTripsGreyAndColour) {
  torch::manual_seed(0);
  for (int64_t c : {1, 3}) {
    const auto image = torch::randint(256, {c, 5, 7}, torch::kUInt8);
    const auto path = dir_ / ("img" + std::to_string(c) + ".png");
    write_png(path, image);
    EXPECT_TRUE(torch::equal(read_png(path), image)) << c << " channels";
    EXPECT_EQ(temporaries(), 0u);
  }
}

TEST_F(PngTest, MapsFloatRangeAndOverwrites) {
  const auto path = dir_ / "f.png";
  write_png(path, torch::zeros({1, 2, 2}, torch::kUInt8));
  write_png(path, torch::tensor({-1.0f, 0.0f, 1.0f, 5.0f}).view({1, 2, 2}));
  EXPECT_TRUE(torch::equal(read_png(path),
                           torch::tensor({0, 128, 255, 255}, torch::kUInt8).view({1, 2, 2})));
}

TEST_F(PngTest, FailuresNameThePathAndLeaveNoTempFile) {
  const auto path = dir_ / "no_such_dir" / "x.png";
  const auto msg = error_of([&] { write_png(path, torch::zeros({3, 2, 2}, torch::kUInt8)); });
  EXPECT_THAT(msg, HasSubstr("x.png"));
  EXPECT_EQ(temporaries(), 0u);

  // Renaming onto a directory fails after the temp file was written: it must be removed.
  fs::create_directories(dir_ / "taken.png" / "inside");
  EXPECT_THAT(error_of([&] {
                write_png(dir_ / "taken.png", torch::zeros({1, 2, 2}, torch::kUInt8));
              }),
              HasSubstr("taken.png"));
  EXPECT_EQ(temporaries(), 0u);

  EXPECT_THAT(error_of([&] {
                write_png(dir_ / "a.png", torch::zeros({2, 2, 2}, torch::kUInt8));
              }),
              HasSubstr("C 1 or 3"));
  EXPECT_THAT(error_of([&] { read_png(dir_ / "absent.png"); }), HasSubstr("absent.png"));
}

TEST(ImageGridLayout, TilesRowMajorWithPadding) {
  // Five 2x3 images, image i filled with 10 (i + 1); three per row, padding 1, pad value 7.
  const auto batch =
      (torch::arange(1, 6) * 10).to(torch::kUInt8).view({5, 1, 1, 1}).expand({5, 1, 2, 3});
  ImageGridOptions opts;
  opts.nrow = 3;
  opts.padding = 1;
  opts.pad_value = 7;
  const auto grid = make_image_grid(batch, opts);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{1, 2 * 3 + 1, 3 * 4 + 1}));
  for (int64_t i = 0; i < 5; ++i) {
    const int64_t top = (i / 3) * 3 + 1, left = (i % 3) * 4 + 1;
    const auto cell = grid[0].slice(0, top, top + 2).slice(1, left, left + 3);
    EXPECT_TRUE((cell == 10 * (i + 1)).all().item<bool>()) << "image " << i;
  }
  EXPECT_TRUE((grid[0][0] == 7).all().item<bool>());            // top border
  EXPECT_TRUE((grid[0].select(1, 4) == 7).all().item<bool>());  // between columns
  EXPECT_TRUE(
      (grid[0].slice(0, 4, 6).slice(1, 9, 12) == 7).all().item<bool>());  // the empty sixth cell
}

TEST(ImageGridLayout, FewerImagesThanNrowMakeOneRow) {
  const auto grid = make_image_grid(torch::zeros({2, 3, 4, 4}), ImageGridOptions{});
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 4 + 4, 2 * 6 + 2}));
  EXPECT_TRUE((grid.slice(1, 2, 6).slice(2, 2, 6) == 128).all().item<bool>());  // 0.0 -> mid grey
  EXPECT_THAT(error_of([] {
                make_image_grid(torch::zeros({2, 4, 4}));
              }),
              HasSubstr("[N > 0, C, H, W]"));
}

TEST_F(PngTest, SavesGridAsPng) {
  const auto batch = torch::rand({6, 3, 8, 8}) * 2 - 1;
  const auto path = dir_ / "grid.png";
  save_image_grid(path, batch, {.nrow = 3, .padding = 2});
  EXPECT_TRUE(torch::equal(read_png(path), make_image_grid(batch, {.nrow = 3, .padding = 2})));
}

}  // namespace
