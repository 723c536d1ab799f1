#include "collector/net/rate_limiter.h"

#include "gtest/gtest.h"

namespace steward::collector {
namespace {

TEST(KeyedRateLimiter, BurstThenRatePerKey) {
  KeyedRateLimiter limiter(/*per_second=*/2, /*burst=*/3);
  absl::Time t = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1", t)) << i;
  absl::Duration retry;
  EXPECT_FALSE(limiter.Allow("10.0.0.1", t, &retry));
  EXPECT_EQ(retry, absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Allow("10.0.0.2", t));  // another key has its own bucket
  EXPECT_FALSE(limiter.Allow("10.0.0.1", t + absl::Milliseconds(400)));
  EXPECT_TRUE(limiter.Allow("10.0.0.1", t + absl::Milliseconds(900)));
  // Refills up to the burst, not beyond.
  absl::Time later = t + absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1", later)) << i;
  EXPECT_FALSE(limiter.Allow("10.0.0.1", later));
}

TEST(KeyedRateLimiter, BoundedKeysDropRefilledBucketsAndFailClosed) {
  KeyedRateLimiter limiter(1, 2, /*max_keys=*/3);
  absl::Time t = absl::FromUnixSeconds(1000);
  EXPECT_TRUE(limiter.Allow("a", t));
  EXPECT_TRUE(limiter.Allow("b", t));
  EXPECT_TRUE(limiter.Allow("c", t));
  // Full, and no bucket has refilled: a new key is refused.
  EXPECT_FALSE(limiter.Allow("d", t));
  EXPECT_EQ(limiter.keys(), 3u);
  // Once they have refilled they are forgotten to make room.
  EXPECT_TRUE(limiter.Allow("d", t + absl::Seconds(5)));
  EXPECT_EQ(limiter.keys(), 1u);
}

}  // namespace
}  // namespace steward::collector
