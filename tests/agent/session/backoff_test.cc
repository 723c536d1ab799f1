#include "agent/session/backoff.h"

#include <algorithm>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

TEST(Backoff, NthDelayIsWithinHalfToFullOfDoubledInitial) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Backoff b(absl::Seconds(1), absl::Minutes(5), seed);
    absl::Duration d = absl::Seconds(1);
    for (int n = 0; n < 8; ++n) {  // 1, 2, 4, ..., 128 s: below the cap
      absl::Duration got = b.Next();
      EXPECT_GE(got, d / 2) << "seed " << seed << " n " << n;
      EXPECT_LE(got, d) << "seed " << seed << " n " << n;
      d *= 2;
    }
    EXPECT_EQ(b.attempts(), 8);
  }
}

TEST(Backoff, IsCappedAtMax) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Backoff b(absl::Milliseconds(100), absl::Seconds(30), seed);
    for (int n = 0; n < 200; ++n) {
      absl::Duration got = b.Next();
      EXPECT_LE(got, absl::Seconds(30));
      EXPECT_GT(got, absl::ZeroDuration());
      if (n >= 9) {
        EXPECT_GE(got, absl::Seconds(15)) << n;  // 100ms * 2^9 > 30 s: capped, jitter [15, 30]
      }
    }
  }
}

TEST(Backoff, CapBetweenPowersOfTwoIsExact) {
  // 1 s doubling passes 3 s between 2 and 4: the third delay draws from [1.5, 3].
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Backoff b(absl::Seconds(1), absl::Seconds(3), seed);
    b.Next();
    b.Next();
    absl::Duration third = b.Next();
    EXPECT_GE(third, absl::Milliseconds(1500));
    EXPECT_LE(third, absl::Seconds(3));
  }
}

TEST(Backoff, ABusyCollectorIsRetriedWithinTheLowerCapAndTheAttemptsStillCount) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Backoff b(absl::Seconds(1), absl::Minutes(5), seed);
    for (int i = 0; i < 12; ++i) {
      absl::Duration d = b.NextWithin(kBusyCollectorRetryCap);
      EXPECT_LE(d, absl::Seconds(30));
      if (i >= 6) EXPECT_GE(d, absl::Seconds(15));  // 2^5 s > 30 s: drawn from [15, 30]
    }
    EXPECT_EQ(b.attempts(), 12);
    EXPECT_GE(b.Next(), absl::Seconds(150));  // the full backoff went on growing
  }
}

TEST(Backoff, JitterSpreadsOverTheWholeRange) {
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (uint64_t seed = 0; seed < 400; ++seed) {
    Backoff b(absl::Seconds(10), absl::Seconds(10), seed);
    absl::Duration d = b.Next();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, absl::Milliseconds(5300));
  EXPECT_GT(hi, absl::Milliseconds(9700));
}

TEST(Backoff, SameSeedSameDelaysDifferentSeedDifferentDelays) {
  Backoff a(absl::Seconds(1), absl::Minutes(1), 7), b(absl::Seconds(1), absl::Minutes(1), 7),
      c(absl::Seconds(1), absl::Minutes(1), 8);
  bool any_difference = false;
  for (int i = 0; i < 10; ++i) {
    absl::Duration da = a.Next(), db = b.Next(), dc = c.Next();
    EXPECT_EQ(da, db);
    any_difference |= da != dc;
  }
  EXPECT_TRUE(any_difference);
}

TEST(Backoff, ResetStartsOverFromInitial) {
  Backoff b(absl::Seconds(1), absl::Minutes(1), 3);
  for (int i = 0; i < 10; ++i) b.Next();
  EXPECT_EQ(b.attempts(), 10);
  EXPECT_GE(b.Next(), absl::Seconds(30));
  b.Reset();
  EXPECT_EQ(b.attempts(), 0);
  absl::Duration first = b.Next();
  EXPECT_GE(first, absl::Milliseconds(500));
  EXPECT_LE(first, absl::Seconds(1));
  EXPECT_EQ(b.attempts(), 1);
}

}  // namespace
}  // namespace steward::agent
