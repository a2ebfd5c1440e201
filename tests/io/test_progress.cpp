// The progress line (rate and ETA towards the loop or time budget) and durations as h:mm:ss.
#include <regex>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vgrow/io/progress.h"

namespace {

using ::testing::HasSubstr;
using vgrow::io::format_duration;
using vgrow::io::ProgressMeter;

// Spins until the meter's clock has moved past `seconds`: bounds from below what it measures,
// without asserting anything about how long the wait took.
void wait_past(const ProgressMeter& meter, double seconds) {
  while (meter.elapsed_seconds() <= seconds) {
  }
}

// "m:ss" or "h:mm:ss" in seconds.
double clock_seconds(const std::string& text) {
  double total = 0;
  std::stringstream parts(text);
  for (std::string part; std::getline(parts, part, ':');) total = 60 * total + std::stod(part);
  return total;
}

// The ETA a progress line shows, in seconds.
double eta_of(const std::string& line) {
  const auto at = line.find("ETA ");
  EXPECT_NE(at, std::string::npos) << line;
  return at == std::string::npos ? -1.0 : clock_seconds(line.substr(at + 4));
}

TEST(FormatDuration, MinutesAndSecondsBelowAnHour) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(59), "0:59");
  EXPECT_EQ(format_duration(61), "1:01");
  EXPECT_EQ(format_duration(600), "10:00");
  EXPECT_EQ(format_duration(3599), "59:59");
}

TEST(FormatDuration, HoursFromOneHourOn) {
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3661), "1:01:01");
  EXPECT_EQ(format_duration(36059), "10:00:59");
  EXPECT_EQ(format_duration(100 * 3600.0), "100:00:00");
}

TEST(FormatDuration, RoundsToTheNearestSecondAndClampsNegatives) {
  EXPECT_EQ(format_duration(59.4), "0:59");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(3599.7), "1:00:00");
  EXPECT_EQ(format_duration(-5), "0:00");
}

TEST(ProgressMeter, LineShowsLoopOfBudgetRateElapsedAndEta) {
  const ProgressMeter meter(0, 100, 0);
  const auto line = meter.line(11);
  static const std::regex format(
      R"(\[ {4}12/100\] +\d+\.\d\d s/loop  elapsed \d+:\d\d(:\d\d)?  ETA \d+:\d\d(:\d\d)?)");
  EXPECT_TRUE(std::regex_match(line, format)) << "'" << line << "'";
}

// A resumed run counts the loops it made itself; the line still shows the absolute loop.
TEST(ProgressMeter, ResumedRunShowsTheAbsoluteLoop) {
  const ProgressMeter meter(50, 100, 0);
  EXPECT_THAT(meter.line(59), HasSubstr("[    60/100]"));
}

TEST(ProgressMeter, NoLoopDoneYetGivesZeroRateAndEta) {
  const ProgressMeter meter(10, 100, 0);
  wait_past(meter, 1e-6);
  const auto line = meter.line(9);
  EXPECT_THAT(line, HasSubstr(" 0.00 s/loop"));
  EXPECT_EQ(eta_of(line), 0.0) << line;
}

// The rate so far (at least 1 us per loop here) times the loops left: over 1e15 loops that is
// at least 1e9 s, so the ETA is in hours.
TEST(ProgressMeter, EtaExtrapolatesTheRateToTheLoopBudget) {
  const int64_t budget = 1'000'000'000'000'000;
  const ProgressMeter meter(0, budget, 0);
  wait_past(meter, 1e-6);
  const auto line = meter.line(0);
  EXPECT_GE(eta_of(line), 1e9 * 0.999) << line;
  // The last loop leaves nothing to wait for.
  EXPECT_EQ(eta_of(meter.line(budget - 1)), 0.0);
}

// With a time budget the ETA is whichever ends first: the budget's remaining minute here.
TEST(ProgressMeter, TimeBudgetCapsTheEta) {
  const int64_t budget = 1'000'000'000'000'000;
  const ProgressMeter meter(0, budget, 1.0);
  wait_past(meter, 1e-6);
  const auto line = meter.line(0);
  EXPECT_LE(eta_of(line), 60.0) << line;
  // A loop budget that ends first is not stretched to the time budget.
  const ProgressMeter short_run(0, 10, 1e6);
  EXPECT_EQ(eta_of(short_run.line(9)), 0.0);
}

TEST(ProgressMeter, OutOfTimeOnlyWithAnExpiredBudget) {
  const ProgressMeter no_budget(0, 10, 0);
  const ProgressMeter tiny_budget(0, 10, 1e-8);  // 0.6 us
  const ProgressMeter long_budget(0, 10, 1e6);
  wait_past(no_budget, 1e-5);
  wait_past(tiny_budget, 1e-5);
  EXPECT_FALSE(no_budget.out_of_time());
  EXPECT_TRUE(tiny_budget.out_of_time());
  EXPECT_FALSE(long_budget.out_of_time());
  EXPECT_GT(no_budget.elapsed_seconds(), 1e-5);
}

}  // namespace
