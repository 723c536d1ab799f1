// HealthSchedule on given times: when the checks run besides the cycle.
#include "agent/health/health_schedule.h"

#include "gtest/gtest.h"

namespace steward::agent {
namespace {

using Run = HealthSchedule::Run;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(HealthSchedule, NothingIsDueWithoutARequest) {
  HealthSchedule s;
  EXPECT_EQ(s.NextRun(), absl::InfiniteFuture());
  EXPECT_EQ(s.Take(kT0), Run::kNone);
  s.RanInCycle(kT0);
  EXPECT_EQ(s.NextRun(), absl::InfiniteFuture());
}

TEST(HealthSchedule, ARequestIsDueAtOnceAndOnlyOnce) {
  HealthSchedule s;
  s.Requested(kT0, absl::ZeroDuration());
  EXPECT_EQ(s.NextRun(), absl::InfinitePast());
  EXPECT_EQ(s.Take(kT0), Run::kRequested);
  EXPECT_EQ(s.Take(kT0 + absl::Seconds(1)), Run::kNone);
  EXPECT_EQ(s.NextRun(), absl::InfiniteFuture());
}

TEST(HealthSchedule, AWatchRunsEveryPeriodUntilItEnds) {
  HealthSchedule s(absl::Seconds(1));
  s.Requested(kT0, absl::Seconds(3));
  EXPECT_EQ(s.Take(kT0), Run::kRequested);
  EXPECT_EQ(s.NextRun(), kT0 + absl::Seconds(1));
  EXPECT_EQ(s.Take(kT0 + absl::Milliseconds(999)), Run::kNone);
  int ticks = 0;
  for (absl::Time t = kT0 + absl::Seconds(1); t <= kT0 + absl::Seconds(10); t += absl::Seconds(1)) {
    if (s.Take(t) == Run::kWatch) ++ticks;
  }
  EXPECT_EQ(ticks, 3);  // at +1, +2 and +3 s
  EXPECT_EQ(s.NextRun(), absl::InfiniteFuture());
}

TEST(HealthSchedule, ACycleRunPostponesTheNextWatchTick) {
  HealthSchedule s(absl::Seconds(1));
  s.Requested(kT0, absl::Seconds(30));
  ASSERT_EQ(s.Take(kT0), Run::kRequested);
  s.RanInCycle(kT0 + absl::Milliseconds(500));
  EXPECT_EQ(s.NextRun(), kT0 + absl::Milliseconds(1500));
}

TEST(HealthSchedule, ALaterRequestWinsOverATickAndKeepsTheLongerWatch) {
  HealthSchedule s(absl::Seconds(1));
  s.Requested(kT0, absl::Seconds(60));
  ASSERT_EQ(s.Take(kT0), Run::kRequested);
  s.Requested(kT0 + absl::Seconds(5), absl::ZeroDuration());
  EXPECT_EQ(s.Take(kT0 + absl::Seconds(5)), Run::kRequested);
  EXPECT_EQ(s.NextRun(), kT0 + absl::Seconds(6));
  EXPECT_EQ(s.Take(kT0 + absl::Seconds(60)), Run::kWatch);
  EXPECT_EQ(s.NextRun(), absl::InfiniteFuture());
  s.Requested(kT0 + absl::Seconds(70), absl::Seconds(10));
  s.Requested(kT0 + absl::Seconds(71), absl::Seconds(30));
  ASSERT_EQ(s.Take(kT0 + absl::Seconds(71)), Run::kRequested);
  EXPECT_EQ(s.Take(kT0 + absl::Seconds(101)), Run::kWatch);
}

TEST(HealthSchedule, WatchesAreCappedAndNegativeOnesAreNone) {
  HealthSchedule s(absl::Minutes(10));
  s.Requested(kT0, absl::Hours(5));
  ASSERT_EQ(s.Take(kT0), Run::kRequested);
  int ticks = 0;
  for (absl::Time t = kT0; t <= kT0 + absl::Hours(5); t += absl::Minutes(10)) {
    if (s.Take(t) == Run::kWatch) ++ticks;
  }
  EXPECT_EQ(ticks, 6);  // one hour, not five
  HealthSchedule negative;
  negative.Requested(kT0, -absl::Seconds(5));
  ASSERT_EQ(negative.Take(kT0), Run::kRequested);
  EXPECT_EQ(negative.NextRun(), absl::InfiniteFuture());
}

}  // namespace
}  // namespace steward::agent
