#include "collector/service/refusal_limiter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace steward::collector {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(RefusalLimiter, OneCallerGetsABurstThenOneASecondAndTheRestIsCounted) {
  RefusalLimiter limiter;
  uint64_t unrecorded = 99;
  int recorded = 0;
  for (int i = 0; i < 50; ++i) recorded += limiter.Admit("agent/a", kT0, &unrecorded);
  EXPECT_EQ(recorded, 20);
  EXPECT_EQ(unrecorded, 0u);  // from the last recorded one
  // Half a second later no token yet; a second later one, carrying the 30
  // and the one just refused.
  EXPECT_FALSE(limiter.Admit("agent/a", kT0 + absl::Milliseconds(500), &unrecorded));
  ASSERT_TRUE(limiter.Admit("agent/a", kT0 + absl::Seconds(1), &unrecorded));
  EXPECT_EQ(unrecorded, 31u);
  // Another caller is not held back by the first.
  ASSERT_TRUE(limiter.Admit("user/bob", kT0 + absl::Seconds(1), &unrecorded));
  EXPECT_EQ(unrecorded, 0u);
}

TEST(RefusalLimiter, ManyCallersTogetherAreBoundedToo) {
  RefusalLimiter limiter;
  uint64_t unrecorded = 0;
  int recorded = 0;
  for (int i = 0; i < 1000; ++i) recorded += limiter.Admit(absl::StrCat("agent/", i), kT0, &unrecorded);
  EXPECT_EQ(recorded, 200);
  // Ten seconds refill 200 more for everyone together.
  recorded = 0;
  for (int i = 0; i < 1000; ++i) recorded += limiter.Admit(absl::StrCat("agent/", i), kT0 + absl::Seconds(10), &unrecorded);
  EXPECT_EQ(recorded, 200);
}

TEST(RefusalLimiter, TimeGoingBackwardsGrantsNothing) {
  RefusalLimiter limiter;
  uint64_t unrecorded = 0;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(limiter.Admit("agent/a", kT0, &unrecorded));
  EXPECT_FALSE(limiter.Admit("agent/a", kT0 - absl::Hours(1), &unrecorded));
  EXPECT_FALSE(limiter.Admit("agent/a", kT0, &unrecorded));
}

}  // namespace
}  // namespace steward::collector
