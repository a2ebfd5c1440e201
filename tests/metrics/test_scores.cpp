// Metrics against closed forms and hand computations: FID, KID, IS, precision/recall, and
// the two feature extractors (dataset classifier, TorchScript Inception-v3 stand-ins).

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/fid.h"
#include "vgrow/metrics/gaussian_stats.h"
#include "vgrow/metrics/inception.h"
#include "vgrow/metrics/inception_score.h"
#include "vgrow/metrics/kid.h"
#include "vgrow/metrics/precision_recall.h"

namespace vm = vgrow::metrics;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("vgrow_test_metrics_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Runs `body` and returns the library's error message ("" when nothing was thrown).
template <typename Body>
std::string error_of(Body body) {
  try {
    body();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return {};
}

torch::Tensor f64(std::initializer_list<double> values) {
  return torch::tensor(std::vector<double>(values), torch::kFloat64);
}

vm::GaussianStats stats_of(torch::Tensor mean, torch::Tensor cov, int64_t count = 100000) {
  return {std::move(mean), std::move(cov), count};
}

torch::Tensor random_rotation(int64_t d) {
  return std::get<0>(torch::linalg_qr(torch::randn({d, d}, torch::kFloat64)));
}

}  // namespace

// ---------------------------------------------------------------- Gaussian statistics, FID

TEST(FidGaussianStats, MatchesDirectUnbiasedMomentsAtAnyChunking) {
  torch::manual_seed(1);
  const auto x = torch::randn({103, 6}) * 3.0 + 5.0;
  const auto xd = x.to(torch::kFloat64);
  const auto centred = xd - xd.mean(0);
  const auto cov = centred.t().mm(centred) / 102.0;
  for (int64_t chunk : {1, 7, 4096}) {
    const auto stats = vm::gaussian_stats(x, chunk);
    EXPECT_EQ(stats.count, 103);
    EXPECT_EQ(stats.mean.scalar_type(), torch::kFloat64);
    EXPECT_TRUE(torch::allclose(stats.mean, xd.mean(0), 1e-12, 1e-12)) << "chunk " << chunk;
    EXPECT_TRUE(torch::allclose(stats.cov, cov, 1e-10, 1e-10)) << "chunk " << chunk;
  }
}

TEST(FidGaussianStats, SaveLoadRoundTripAndErrors) {
  torch::manual_seed(2);
  const auto stats = vm::gaussian_stats(torch::randn({20, 4}));
  const auto path = temp_path("stats.pt");
  stats.save(path);
  const auto back = vm::GaussianStats::load(path);
  EXPECT_EQ(back.count, 20);
  EXPECT_TRUE(torch::equal(back.mean, stats.mean));
  EXPECT_TRUE(torch::equal(back.cov, stats.cov));
  std::filesystem::remove(path);
  EXPECT_NE(error_of([&] { vm::GaussianStats::load(path); }).find("cannot read"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              vm::gaussian_stats(torch::randn({1, 4}));
            }).find("at least 2"),
            std::string::npos);
}

TEST(FidGaussianStats, MeanSdIsThePopulationSd) {
  const auto summary = vm::mean_sd({1.0, 2.0, 3.0, 4.0});
  EXPECT_DOUBLE_EQ(summary.mean, 2.5);
  EXPECT_DOUBLE_EQ(summary.sd, std::sqrt(1.25));
}

TEST(Fid, SqrtmPsdSquaresBack) {
  torch::manual_seed(3);
  const auto a = torch::randn({6, 6}, torch::kFloat64);
  const auto spd = a.mm(a.t()) + torch::eye(6, torch::kFloat64);
  const auto root = vm::sqrtm_psd(spd);
  EXPECT_TRUE(torch::allclose(root.mm(root), spd, 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(root, root.t(), 1e-12, 1e-12));
}

TEST(Fid, DiagonalCovariancesMatchClosedForm) {
  const auto mu1 = f64({0.0, 1.0, -2.0, 0.5}), mu2 = f64({1.0, 1.0, 0.0, -0.5});
  const auto a = f64({1.0, 4.0, 0.25, 9.0}), b = f64({2.0, 1.0, 0.25, 0.5});
  const double expected =
      (mu1 - mu2).pow(2).sum().item<double>() + (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
  const auto result = vm::fid(stats_of(mu1, torch::diag(a)), stats_of(mu2, torch::diag(b)));
  EXPECT_NEAR(result.value, expected, 1e-6 * expected);
  EXPECT_TRUE(result.warning.empty());
}

TEST(Fid, CommutingNonDiagonalCovariancesMatchClosedForm) {
  torch::manual_seed(4);
  const int64_t d = 8;
  const auto q = random_rotation(d);
  const auto a = torch::rand({d}, torch::kFloat64) * 3.0 + 0.1;
  const auto b = torch::rand({d}, torch::kFloat64) * 3.0 + 0.1;
  const auto mu1 = torch::randn({d}, torch::kFloat64), mu2 = torch::randn({d}, torch::kFloat64);
  const auto s1 = q.mm(torch::diag(a)).mm(q.t()), s2 = q.mm(torch::diag(b)).mm(q.t());
  const double expected =
      (mu1 - mu2).pow(2).sum().item<double>() + (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
  EXPECT_NEAR(vm::fid(stats_of(mu1, s1), stats_of(mu2, s2)).value, expected, 1e-6 * expected);
}

TEST(Fid, NonCommuting2x2MatchesClosedForm) {
  // For 2x2 PSD M: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); here M = S1^{1/2} S2 S1^{1/2},
  // so tr M = tr(S1 S2) and det M = det S1 det S2.
  const auto s1 = torch::tensor({{2.0, 0.6}, {0.6, 1.0}}, torch::kFloat64);
  const auto s2 = torch::tensor({{0.5, -0.3}, {-0.3, 3.0}}, torch::kFloat64);
  const auto zero = torch::zeros({2}, torch::kFloat64);
  const double tr_m = s1.mm(s2).trace().item<double>();
  const double det = s1.det().item<double>() * s2.det().item<double>();
  const double expected = s1.trace().item<double>() + s2.trace().item<double>() -
                          2.0 * std::sqrt(tr_m + 2.0 * std::sqrt(det));
  EXPECT_NEAR(vm::fid(stats_of(zero, s1), stats_of(zero, s2)).value, expected, 1e-6 * expected);
}

TEST(Fid, SameFeaturesGiveZeroAndOrderDoesNotMatter) {
  torch::manual_seed(5);
  const auto x = torch::randn({400, 10});
  const auto y = torch::randn({300, 10}) * 1.5 + 0.3;
  EXPECT_NEAR(vm::fid(x, x).value, 0.0, 1e-9);
  const double xy = vm::fid(x, y).value, yx = vm::fid(y, x).value;
  EXPECT_GT(xy, 0.5);
  EXPECT_NEAR(xy, yx, 1e-9 * xy);
}

TEST(Fid, RankDeficientCovarianceGivesFiniteValueAndWarning) {
  torch::manual_seed(6);
  const auto x = torch::randn({10, 32}), y = torch::randn({10, 32}) + 1.0;
  const auto result = vm::fid(x, y);
  EXPECT_TRUE(std::isfinite(result.value));
  EXPECT_GT(result.value, 0.0);
  EXPECT_NE(result.warning.find("singular"), std::string::npos) << result.warning;
  EXPECT_NE(result.warning.find("10 samples of 32-d"), std::string::npos) << result.warning;
  EXPECT_TRUE(vm::fid(torch::randn({100, 4}), torch::randn({100, 4})).warning.empty());
}

TEST(Fid, DimensionMismatchIsAnError) {
  EXPECT_NE(error_of([] {
              vm::fid(torch::randn({5, 3}), torch::randn({5, 4}));
            }).find("different feature dimensions"),
            std::string::npos);
}

TEST(Fid, DrawsProtocol) {
  torch::manual_seed(7);
  const auto generated = torch::randn({200, 4}) + 0.5, real = torch::randn({300, 4});
  // Drawing the whole generated set every time: only the real subsample varies.
  auto whole = vm::fid_over_draws(generated, real, {.n = 200, .draws = 4, .seed = 1});
  ASSERT_EQ(whole.values.size(), 4u);
  EXPECT_GT(whole.sd, 0.0);
  EXPECT_NEAR(whole.mean, vm::mean_sd(whole.values).mean, 1e-12);
  // Same seed, same draws.
  auto again = vm::fid_over_draws(generated, real, {.n = 200, .draws = 4, .seed = 1});
  EXPECT_EQ(again.values, whole.values);
  // n equal to both counts: every draw is the full sets, so no spread.
  auto full = vm::fid_over_draws(generated, real.slice(0, 0, 200), {.n = 200, .draws = 3});
  EXPECT_NEAR(full.sd, 0.0, 1e-12);
  EXPECT_NEAR(full.mean, vm::fid(generated, real.slice(0, 0, 200)).value, 1e-9);
  const auto message = error_of([&] { vm::fid_over_draws(generated, real, {.n = 250}); });
  EXPECT_NE(message.find("n = 250"), std::string::npos) << message;
}

TEST(Fid, AgainstReferenceStatistics) {
  torch::manual_seed(8);
  const auto generated = torch::randn({150, 5}), real = torch::randn({500, 5}) * 2.0;
  const auto reference = vm::gaussian_stats(real);
  EXPECT_NEAR(vm::fid_vs_reference(generated, reference).value, vm::fid(generated, real).value,
              1e-9);
}

// ---------------------------------------------------------------- KID

TEST(Kid, HandComputedSmallCase) {
  const std::vector<std::vector<double>> x = {{0.5, -1.0}, {2.0, 0.0}, {-0.3, 0.7}};
  const std::vector<std::vector<double>> y = {{1.0, 1.0}, {0.0, -2.0}, {0.4, 0.1}, {-1.5, 0.2}};
  const double d = 2.0;
  auto k = [&](const std::vector<double>& u, const std::vector<double>& v) {
    return std::pow((u[0] * v[0] + u[1] * v[1]) / d + 1.0, 3);
  };
  double xx = 0.0, yy = 0.0, xy = 0.0;
  const double m = 3.0, n = 4.0;
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = 0; j < x.size(); ++j)
      if (i != j) xx += k(x[i], x[j]);
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t j = 0; j < y.size(); ++j)
      if (i != j) yy += k(y[i], y[j]);
  for (const auto& u : x)
    for (const auto& v : y) xy += k(u, v);
  const double expected = xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2.0 * xy / (m * n);
  const auto tx = torch::tensor({0.5, -1.0, 2.0, 0.0, -0.3, 0.7}, torch::kFloat64).view({3, 2});
  const auto ty =
      torch::tensor({1.0, 1.0, 0.0, -2.0, 0.4, 0.1, -1.5, 0.2}, torch::kFloat64).view({4, 2});
  EXPECT_NEAR(vm::polynomial_mmd2(tx, ty), expected, 1e-12 * std::abs(expected));
}

TEST(Kid, OneSubsetOfEverythingIsTheMmd) {
  torch::manual_seed(9);
  const auto a = torch::randn({30, 5}), b = torch::randn({30, 5}) + 0.2;
  const auto result = vm::kid(a, b, {.subsets = 1, .subset_size = 30});
  EXPECT_NEAR(result.mean, vm::polynomial_mmd2(a, b), 1e-9);
  EXPECT_EQ(result.sd, 0.0);
}

TEST(Kid, SameDistributionNearZeroDifferentOnesNot) {
  torch::manual_seed(10);
  const auto a = torch::randn({2000, 16}), b = torch::randn({2000, 16});
  const auto same = vm::kid(a, b, {.subsets = 20, .subset_size = 500});
  EXPECT_LT(std::abs(same.mean), 0.01) << same.mean << " +- " << same.sd;
  const auto shifted = vm::kid(a, b + 0.5, {.subsets = 20, .subset_size = 500});
  EXPECT_GT(shifted.mean, 10.0 * std::abs(same.mean) + 0.05);
}

TEST(Kid, SubsetSizeIsValidated) {
  const auto a = torch::randn({10, 3}), b = torch::randn({12, 3});
  const auto big = error_of([&] { vm::kid(a, b, {.subset_size = 11}); });
  EXPECT_NE(big.find("subset size 11"), std::string::npos) << big;
  EXPECT_NE(big.find("10 and 12"), std::string::npos) << big;
  EXPECT_FALSE(error_of([&] { vm::kid(a, b, {.subset_size = 1}); }).empty());
  EXPECT_TRUE(error_of([&] { vm::kid(a, b, {.subsets = 2, .subset_size = 10}); }).empty());
}

// ---------------------------------------------------------------- Inception Score

TEST(InceptionScore, OneHotUniformPredictionsGiveTheClassCount) {
  const int64_t classes = 10, n = 1000;
  const auto labels = torch::arange(n) % classes;
  const auto p = torch::one_hot(labels, classes).to(torch::kFloat32);
  const auto result = vm::inception_score(p, 10);
  EXPECT_NEAR(result.mean, 10.0, 1e-9);
  EXPECT_NEAR(result.sd, 0.0, 1e-9);
  EXPECT_EQ(result.values.size(), 10u);
}

TEST(InceptionScore, ConstantPredictionsGiveOne) {
  torch::manual_seed(11);
  const auto row = torch::softmax(torch::randn({1, 7}), 1);
  const auto result = vm::inception_score(row.expand({50, 7}), 5);
  EXPECT_NEAR(result.mean, 1.0, 1e-9);
}

TEST(InceptionScore, HandComputedTwoRows) {
  const auto p = torch::tensor({1.0, 0.0, 0.5, 0.5}, torch::kFloat64).view({2, 2});
  const double kl1 = std::log(1.0 / 0.75);
  const double kl2 = 0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25);
  EXPECT_NEAR(vm::inception_score(p, 1).mean, std::exp(0.5 * (kl1 + kl2)), 1e-12);
}

TEST(InceptionScore, RejectsLogitsAndBadSplits) {
  torch::manual_seed(12);
  EXPECT_NE(error_of([] {
              vm::inception_score(torch::randn({20, 4}), 2);
            }).find("not logits"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              vm::inception_score(torch::full({20, 4}, 0.2), 2);
            }).find("summing to 1"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              vm::inception_score(torch::full({5, 4}, 0.25), 6);
            }).find("splits"),
            std::string::npos);
}

// ---------------------------------------------------------------- precision / recall

TEST(PrecisionRecall, KnnRadiiMatchBruteForceAtAnyChunking) {
  torch::manual_seed(13);
  const auto x = torch::randn({57, 3}, torch::kFloat64);
  const auto expected = std::get<0>(torch::cdist(x, x).sort(1)).select(1, 3);
  for (int64_t chunk : {1, 4, 7, 1000})
    EXPECT_TRUE(torch::allclose(vm::knn_radii(x, 3, chunk), expected, 1e-9, 1e-9))
        << "chunk " << chunk;
  EXPECT_FALSE(error_of([&] { vm::knn_radii(x.slice(0, 0, 3), 3); }).empty());
}

TEST(PrecisionRecall, IdenticalSetsGiveOne) {
  torch::manual_seed(14);
  const auto x = torch::randn({300, 8});
  const auto result = vm::precision_recall(x, x.clone(), {.k = 3, .chunk_size = 64});
  EXPECT_DOUBLE_EQ(result.precision, 1.0);
  EXPECT_DOUBLE_EQ(result.recall, 1.0);
}

TEST(PrecisionRecall, FarApartSetsGiveZero) {
  torch::manual_seed(15);
  const auto real = torch::randn({200, 8}), generated = torch::randn({150, 8}) + 100.0;
  const auto result = vm::precision_recall(real, generated, {.chunk_size = 50});
  EXPECT_DOUBLE_EQ(result.precision, 0.0);
  EXPECT_DOUBLE_EQ(result.recall, 0.0);
}

TEST(PrecisionRecall, CollapsedGeneratorHasPrecisionButNoRecall) {
  torch::manual_seed(16);
  const auto real = torch::randn({400, 2});
  // Every generated point near the real mode: faithful but covering little of it.
  const auto generated = torch::randn({400, 2}) * 0.05;
  const auto result = vm::precision_recall(real, generated);
  EXPECT_GT(result.precision, 0.95);
  EXPECT_LT(result.recall, 0.2);
}

// ---------------------------------------------------------------- dataset classifier

namespace {

// Two classes that differ in brightness pattern: horizontal (0) or vertical (1) stripes
// of period 4, under noise. Orientation survives global average pooling; position would not.
vm::LabelledImages stripes(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const auto labels = torch::randint(0, 2, {n}, torch::kInt64);
  const auto rows = torch::arange(28).view({1, 1, 28, 1}), columns = rows.view({1, 1, 1, 28});
  const auto vertical = labels.view({n, 1, 1, 1}).to(torch::kBool);
  const auto bright = torch::where(vertical, (columns / 2) % 2 == 0, (rows / 2) % 2 == 0);
  auto images = bright.to(torch::kFloat32) * 1.2 - 0.6 + 0.4 * torch::randn({n, 1, 28, 28});
  return {images.clamp(-1.0, 1.0), labels};
}

}  // namespace

TEST(Classifier, ShapesAndClone) {
  vm::Classifier model(vm::ClassifierOptions().in_channels(3).width(8).num_classes(5));
  const auto x = torch::randn({4, 3, 32, 32});
  EXPECT_EQ(model->features(x).sizes(), (std::vector<int64_t>{4, 32}));
  EXPECT_EQ(model->forward(x).sizes(), (std::vector<int64_t>{4, 5}));
  auto copy = std::dynamic_pointer_cast<vm::ClassifierImpl>(model->clone());
  ASSERT_TRUE(copy);
  model->eval();
  copy->eval();
  EXPECT_TRUE(torch::allclose(copy->forward(x), model->forward(x)));
  EXPECT_NE(error_of([&] {
              model->forward(torch::randn({2, 1, 28, 28}));
            }).find("[N, 3"),
            std::string::npos);
}

TEST(Classifier, LearnsASyntheticTaskAndRoundTrips) {
  const auto train = stripes(1024, 1), test = stripes(256, 2);
  vm::ClassifierTrainOptions options;
  options.model.width(8).num_classes(2);
  options.epochs = 2;
  options.batch_size = 32;  // 64 steps: enough for batch-norm running statistics to settle
  std::vector<vm::ClassifierEpoch> epochs;
  options.on_epoch = [&](const vm::ClassifierEpoch& e) { epochs.push_back(e); };
  const auto trained = vm::train_classifier(train, test, options);
  EXPECT_GT(trained.test_accuracy, 0.9);
  ASSERT_EQ(epochs.size(), 2u);  // progress goes to the caller, one report per epoch
  EXPECT_EQ(epochs[1].epoch, 2);
  EXPECT_EQ(epochs[1].epochs, 2);
  EXPECT_DOUBLE_EQ(epochs[1].test_accuracy, trained.test_accuracy);
  EXPECT_GT(epochs[1].train_accuracy, 0.5);
  EXPECT_LT(epochs[1].loss, epochs[0].loss);
  EXPECT_NEAR(vm::classifier_accuracy(const_cast<vm::Classifier&>(trained.model), test),
              trained.test_accuracy, 1e-12);

  const auto path = temp_path("classifier.pt");
  vm::save_classifier(path, trained.model, {"stripes", trained.test_accuracy, 28});
  auto extractor = vm::ClassifierExtractor::from_file(path, 100);
  EXPECT_EQ(extractor.metadata().dataset, "stripes");
  EXPECT_EQ(extractor.metadata().image_size, 28);
  EXPECT_DOUBLE_EQ(extractor.metadata().accuracy, trained.test_accuracy);
  EXPECT_EQ(extractor.id(), "classifier:stripes:sha256:" + vm::file_sha256(path));
  EXPECT_EQ(extractor.feature_dim(), 32);

  const auto images = test.images.slice(0, 0, 250);
  const auto features = extractor.features(images);
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{250, 32}));
  auto model = trained.model;
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(features, model->features(images), 1e-5, 1e-6));
  const auto p = extractor.probabilities(images);
  EXPECT_TRUE(torch::allclose(p.sum(1), torch::ones({250}), 1e-5, 1e-5));
  // Other sizes are resized to the classifier's (bilinear, align_corners false).
  const auto big = torch::rand({4, 1, 32, 32}) * 2 - 1;
  const auto resized = torch::nn::functional::interpolate(
      big, torch::nn::functional::InterpolateFuncOptions()
               .size(std::vector<int64_t>{28, 28})
               .mode(torch::kBilinear)
               .align_corners(false));
  EXPECT_TRUE(torch::allclose(extractor.features(big), model->features(resized), 1e-5, 1e-6));
  std::filesystem::remove(path);
}

TEST(Classifier, RejectsBadLabels) {
  auto train = stripes(16, 3);
  train.labels[0] = 12;
  vm::ClassifierTrainOptions options;
  const auto message = error_of([&] { vm::train_classifier(train, train, options); });
  EXPECT_NE(message.find("[0, 10)"), std::string::npos) << message;
}

// ---------------------------------------------------------------- Inception (TorchScript)

namespace {

// Reports what reached the model: columns 0-4 = C, H, W, min, max of each image.
std::string save_probe_model(const std::string& name) {
  torch::jit::Module m("probe");
  m.define(R"(
def forward(self, x):
    n = x.size(0)
    flat = x.reshape([n, -1])
    c = torch.ones([n, 1]) * float(x.size(1))
    h = torch.ones([n, 1]) * float(x.size(2))
    w = torch.ones([n, 1]) * float(x.size(3))
    stats = torch.stack([flat.amin(1), flat.amax(1)], 1)
    return torch.cat([c, h, w, stats, torch.zeros([n, 2043])], 1)
)");
  const auto path = temp_path(name);
  m.save(path);
  return path;
}

}  // namespace

TEST(Inception, Sha256KnownVectors) {
  EXPECT_EQ(vm::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(vm::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(vm::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const auto path = temp_path("bytes.bin");
  const std::string big(200000, 'a');
  std::ofstream(path, std::ios::binary) << big;
  EXPECT_EQ(vm::file_sha256(path), vm::sha256_hex(big));
  std::filesystem::remove(path);
}

TEST(Inception, StandInModelSeesQuantized299x299RgbInChunks) {
  const auto path = save_probe_model("probe.pt");
  vm::InceptionExtractor inception({.path = path, .batch_size = 2});
  EXPECT_EQ(inception.id(), "inception-v3:sha256:" + vm::file_sha256(path));
  // Five grayscale 28x28 images: black, white, and three random ones.
  auto images = torch::rand({5, 1, 28, 28}) * 2.0 - 1.0;
  images[0].fill_(-1.0);
  images[1].fill_(1.0);
  const auto features = inception.features(images);
  ASSERT_EQ(features.sizes(), (std::vector<int64_t>{5, 2048}));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(features[i][0].item<float>(), 3.0f);
    EXPECT_EQ(features[i][1].item<float>(), 299.0f);
    EXPECT_EQ(features[i][2].item<float>(), 299.0f);
    EXPECT_GE(features[i][3].item<float>(), 0.0f);
    EXPECT_LE(features[i][4].item<float>(), 255.0f);
  }
  EXPECT_EQ(features[0][4].item<float>(), 0.0f);
  EXPECT_EQ(features[1][3].item<float>(), 255.0f);
  // Quantised at native size: the prepared batch of a 299x299 input holds integers only.
  const auto prepared = inception.prepare(torch::rand({1, 3, 299, 299}) * 2.0 - 1.0);
  EXPECT_TRUE(torch::equal(prepared, prepared.round()));
  EXPECT_NE(error_of([&] { inception.probabilities(images); }).find("features only"),
            std::string::npos);
  std::filesystem::remove(path);
}

TEST(Inception, SignedInputAndNativeSizeOptions) {
  const auto path = save_probe_model("probe_signed.pt");
  vm::InceptionExtractor inception(
      {.path = path, .input = vm::InceptionInput::kSigned, .resize = 0});
  const auto features = inception.features(torch::full({2, 3, 32, 32}, -1.0));
  EXPECT_EQ(features[0][1].item<float>(), 32.0f);
  EXPECT_EQ(features[0][3].item<float>(), -1.0f);
  std::filesystem::remove(path);
}

TEST(Inception, NvidiaInterfaceGivesFeaturesAndProbabilities) {
  torch::jit::Module m("nvidia_like");
  m.define(R"(
def forward(self, img, return_features: bool = False, use_fp16: bool = False,
            no_output_bias: bool = False):
    n = img.size(0)
    if return_features:
        return torch.ones([n, 2048])
    return torch.softmax(torch.zeros([n, 1008]), 1)
)");
  const auto path = temp_path("nvidia_like.pt");
  m.save(path);
  vm::InceptionExtractor inception({.path = path});
  const auto images = torch::zeros({3, 3, 32, 32});
  EXPECT_TRUE(torch::equal(inception.features(images), torch::ones({3, 2048})));
  const auto p = inception.probabilities(images);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{3, 1008}));
  EXPECT_NEAR(vm::inception_score(p, 1).mean, 1.0, 1e-9);
  std::filesystem::remove(path);
}

TEST(Inception, MissingFileNotTorchScriptAndWrongShapeAreClearErrors) {
  const auto missing = error_of([] { vm::InceptionExtractor({.path = "/nonexistent/inc.pt"}); });
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  EXPECT_NE(missing.find("[N, 2048]"), std::string::npos) << missing;

  const auto text = temp_path("not_a_model.pt");
  std::ofstream(text) << "not a model";
  const auto garbage = error_of([&] { vm::InceptionExtractor({.path = text}); });
  EXPECT_NE(garbage.find("not a loadable TorchScript file"), std::string::npos) << garbage;
  std::filesystem::remove(text);

  torch::jit::Module m("wrong");
  m.define(R"(
def forward(self, x):
    return torch.zeros([x.size(0), 10])
)");
  const auto wrong = temp_path("wrong_shape.pt");
  m.save(wrong);
  const auto shape = error_of([&] { vm::InceptionExtractor({.path = wrong}); });
  EXPECT_NE(shape.find("[1, 2048]"), std::string::npos) << shape;
  EXPECT_NE(shape.find("[1, 10]"), std::string::npos) << shape;
  std::filesystem::remove(wrong);
}
