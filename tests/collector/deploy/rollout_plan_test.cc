// Wave sizes and maintenance windows as people type them: what they mean,
// and broken text refused with where and what was expected.
#include "collector/deploy/rollout_plan.h"

#include <numeric>
#include <random>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<uint32_t> Plan(uint32_t hosts, const std::string& waves) {
  auto w = ParseWaves({waves});
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? PlanWaves(hosts, *w) : std::vector<uint32_t>{};
}

TEST(Waves, CumulativeSizesBecomeHostsPerWave) {
  EXPECT_THAT(Plan(100, "1,10%,50%,100%"), ElementsAre(1, 9, 40, 50));
  EXPECT_THAT(Plan(4, "1,50%,100%"), ElementsAre(1, 1, 2));
  // A small target drops the waves that would be empty.
  EXPECT_THAT(Plan(1, "1,10%,50%,100%"), ElementsAre(1));
  EXPECT_THAT(Plan(3, "1,10%,50%,100%"), ElementsAre(1, 1, 1));
  // Percentages round up, so a non-empty percentage wave has a host.
  EXPECT_THAT(Plan(7, "10%,100%"), ElementsAre(1, 6));
  // A list short of 100% gets the rest as a last wave; counts past the
  // target stop at the target.
  EXPECT_THAT(Plan(10, "2,5"), ElementsAre(2, 3, 5));
  EXPECT_THAT(Plan(3, "5"), ElementsAre(3));
  // No list: one wave.
  auto none = ParseWaves({});
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(PlanWaves(5, *none), ElementsAre(5));
}

TEST(Waves, EveryHostIsInExactlyOneWaveForRandomPlans) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const uint32_t hosts = 1 + rng() % 500;
    std::vector<std::string> items;
    double pct = 0;
    uint32_t count = 0;
    for (int w = 0, n = 1 + static_cast<int>(rng() % 5); w < n; ++w) {
      if (rng() % 2) {
        count += 1 + rng() % 20;
        items.push_back(std::to_string(count));
      } else if (pct < 100) {
        pct = std::min(100.0, pct + 1 + rng() % 60);
        items.push_back(std::to_string(static_cast<int>(pct)) + "%");
      }
    }
    auto waves = ParseWaves(items);
    if (!waves.ok()) continue;  // e.g. a count after 100%
    std::vector<uint32_t> plan = PlanWaves(hosts, *waves);
    EXPECT_EQ(std::accumulate(plan.begin(), plan.end(), 0u), hosts);
    for (uint32_t n : plan) EXPECT_GT(n, 0u);
  }
}

TEST(Waves, BrokenListsAreRefusedNamingTheWave) {
  struct Case {
    std::string text, says;
  };
  const Case cases[] = {
      {"0", "wave 1 '0': a host count must be a whole number of at least 1"},
      {"1,,100%", "wave 2 '': empty"},
      {"-1", "wave 1 '-1': a host count"},
      {"1.5", "wave 1 '1.5': a host count"},
      {"0%", "wave 1 '0%': a percentage must be above 0 and at most 100"},
      {"150%", "wave 1 '150%': a percentage"},
      {"%", "wave 1 '%': a percentage"},
      {"1e2%", "wave 1 '1e2%': a percentage"},
      {"nan%", "wave 1 'nan%': a percentage"},
      {"10%,5%", "wave 2 '5%': each wave must be larger than the one before"},
      {"5,5", "wave 2 '5': each wave must be larger"},
      {"100%,5", "wave 2 '5': comes after 100%"},
      {"ten", "wave 1 'ten': a host count"},
      {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21", "21 waves; at most 20"},
      {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20", "the last of 20 waves must be 100%"},
      {std::string(2000, '1'), "the wave list is too long"},
  };
  for (const Case& c : cases) {
    auto w = ParseWaves({c.text});
    ASSERT_FALSE(w.ok()) << c.text;
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(w.status().message()), HasSubstr(c.says)) << c.text;
  }
}

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

TEST(Windows, DaysTimesAndMidnight) {
  // 2026-12-05 is a Saturday.
  auto sat = MaintenanceWindows::Parse("Sat 01:00-05:00");
  ASSERT_TRUE(sat.ok()) << sat.status();
  EXPECT_FALSE(sat->Contains(Utc(2026, 12, 5, 0, 59)));
  EXPECT_TRUE(sat->Contains(Utc(2026, 12, 5, 1, 0)));
  EXPECT_TRUE(sat->Contains(Utc(2026, 12, 5, 4, 59)));
  EXPECT_FALSE(sat->Contains(Utc(2026, 12, 5, 5, 0)));
  EXPECT_FALSE(sat->Contains(Utc(2026, 12, 6, 2, 0)));  // Sunday
  EXPECT_EQ(sat->NextOpen(Utc(2026, 12, 5, 6, 0)), Utc(2026, 12, 12, 1, 0));
  EXPECT_EQ(sat->NextOpen(Utc(2026, 12, 5, 2, 0)), Utc(2026, 12, 5, 2, 0));

  // Crossing midnight belongs to the day it starts: Friday night into Saturday.
  auto nights = MaintenanceWindows::Parse("mon-fri 22:00-02:00");
  ASSERT_TRUE(nights.ok()) << nights.status();
  EXPECT_TRUE(nights->Contains(Utc(2026, 12, 4, 23, 0)));   // Friday
  EXPECT_TRUE(nights->Contains(Utc(2026, 12, 5, 1, 59)));   // Saturday early, from Friday
  EXPECT_FALSE(nights->Contains(Utc(2026, 12, 5, 22, 30)));  // Saturday night
  EXPECT_FALSE(nights->Contains(Utc(2026, 12, 7, 1, 0)));   // Monday early: Sunday had none
  EXPECT_TRUE(nights->Contains(Utc(2026, 12, 8, 1, 0)));    // Tuesday early, from Monday

  // Wrapping day ranges, lists, every day, and several windows.
  auto weekend = MaintenanceWindows::Parse("Sat,Sun 00:00-24:00; 12:00-12:30");
  ASSERT_TRUE(weekend.ok()) << weekend.status();
  EXPECT_TRUE(weekend->Contains(Utc(2026, 12, 6, 23, 59)));
  EXPECT_TRUE(weekend->Contains(Utc(2026, 12, 8, 12, 15)));
  EXPECT_FALSE(weekend->Contains(Utc(2026, 12, 8, 12, 30)));
  auto wrap = MaintenanceWindows::Parse("Fri-Mon 03:00-04:00");
  ASSERT_TRUE(wrap.ok());
  EXPECT_TRUE(wrap->Contains(Utc(2026, 12, 7, 3, 30)));   // Monday
  EXPECT_FALSE(wrap->Contains(Utc(2026, 12, 8, 3, 30)));  // Tuesday
  auto always = MaintenanceWindows::Parse("");
  ASSERT_TRUE(always.ok());
  EXPECT_TRUE(always->always());
  EXPECT_TRUE(always->Contains(Utc(2026, 12, 8, 3, 30)));
}

TEST(Windows, BrokenWindowsAreRefusedWithThePosition) {
  struct Case {
    std::string text, says;
  };
  const Case cases[] = {
      {"Sat", "at byte 0: the time range is HH:MM-HH:MM"},
      {"Sat 1:00-05:00", "at byte 4: a start time is HH:MM"},
      {"Sat 01:00-25:00", "at byte 10: an end time is HH:MM from 00:00 to 24:00"},
      {"Sat 24:00-01:00", "at byte 4: a start time"},
      {"Sat 01:60-02:00", "a start time"},
      {"Sat 01:00-01:00", "the window is empty"},
      {"Caturday 01:00-02:00", "at byte 0: days are Mon Tue Wed Thu Fri Sat Sun"},
      {"Mon-Tue-Wed 01:00-02:00", "a day range is FROM-TO"},
      {"Sat 01:00-05:00;", "at byte 16: an empty window"},
      {"Sat 01:00-05:00; Sun 1-2", "at byte 21: a start time"},
      {"Sat 01:00-02:00-03:00", "the time range is HH:MM-HH:MM"},
      {std::string(2000, 'x'), "too long"},
  };
  for (const Case& c : cases) {
    auto w = MaintenanceWindows::Parse(c.text);
    ASSERT_FALSE(w.ok()) << c.text;
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(w.status().message()), HasSubstr(c.says)) << c.text;
  }
}

}  // namespace
}  // namespace steward::collector
