#include "common/duration.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

absl::Duration ParseOk(const char* text) {
  auto d = ParseHumanDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status();
  return d.ok() ? *d : absl::InfiniteDuration();
}

TEST(ParseHumanDuration, AcceptsDays) {
  EXPECT_EQ(ParseOk("7d"), absl::Hours(7 * 24));
  EXPECT_EQ(ParseOk("1d"), absl::Hours(24));
  EXPECT_EQ(ParseOk("0d"), absl::ZeroDuration());
}

TEST(ParseHumanDuration, CombinesDaysWithAbslUnits) {
  EXPECT_EQ(ParseOk("1d12h"), absl::Hours(36));
  EXPECT_EQ(ParseOk("2d30m"), absl::Hours(48) + absl::Minutes(30));
  EXPECT_EQ(ParseOk("1d1h1m1s"), absl::Hours(25) + absl::Minutes(1) + absl::Seconds(1));
}

TEST(ParseHumanDuration, AcceptsAbslUnits) {
  EXPECT_EQ(ParseOk("90s"), absl::Seconds(90));
  EXPECT_EQ(ParseOk("15m"), absl::Minutes(15));
  EXPECT_EQ(ParseOk("1h30m"), absl::Minutes(90));
  EXPECT_EQ(ParseOk("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(ParseOk("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(ParseOk("0"), absl::ZeroDuration());
}

TEST(ParseHumanDuration, TrimsSurroundingWhitespace) {
  EXPECT_EQ(ParseOk("  30s\t"), absl::Seconds(30));
}

void ExpectInvalid(const std::string& text, const std::string& reason_part) {
  auto d = ParseHumanDuration(text);
  ASSERT_FALSE(d.ok()) << "'" << text << "' parsed as " << absl::FormatDuration(*d);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << text;
  EXPECT_TRUE(absl::StrContains(d.status().message(), "'" + text + "'"))
      << "message does not name the input: " << d.status().message();
  EXPECT_TRUE(absl::StrContains(d.status().message(), reason_part))
      << "expected '" << reason_part << "' in: " << d.status().message();
}

TEST(ParseHumanDuration, RejectsEmpty) {
  ExpectInvalid("", "empty");
  ExpectInvalid("   ", "empty");
}

TEST(ParseHumanDuration, RejectsNegative) {
  ExpectInvalid("-5s", "negative");
  ExpectInvalid("-1d", "negative");
}

TEST(ParseHumanDuration, RejectsGarbage) {
  ExpectInvalid("abc", "");
  ExpectInvalid("5x", "");
  ExpectInvalid("1.5.3s", "");
  ExpectInvalid("5", "");  // a bare number other than 0 has no unit
  ExpectInvalid("s", "");
  ExpectInvalid("d", "day");
  ExpectInvalid("1.5d", "day");  // days must be whole
  ExpectInvalid("1h1d", "day");  // days must come first
  ExpectInvalid("1dd", "");
  ExpectInvalid("1d-5h", "");
  ExpectInvalid("inf", "");
}

TEST(ParseHumanDuration, RejectsAbsurdDayCounts) {
  ExpectInvalid("36501d", "day");
  ExpectInvalid("99999999999999999999d", "day");
}

TEST(FormatRfc3339, FormatsUtcSecondPrecision) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(1795424194)), "2026-11-23T08:56:34Z");
  // Sub-second parts are cut, not rounded.
  EXPECT_EQ(FormatRfc3339(absl::FromUnixMillis(1795424194999)), "2026-11-23T08:56:34Z");
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(-1)), "1969-12-31T23:59:59Z");
}

}  // namespace
}  // namespace steward
