#include "collector/storage/keys.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace steward::collector::keys {
namespace {

const std::string kSeries = SeriesKey("agent1", "host_load1", "cpu=0");

TEST(SampleKey, ByteOrderEqualsTimeOrder) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> times = {
      kMin,  kMin + 1, -1'000'000'000'000, -256,     -255, -2, -1, 0, 1, 255, 256,
      65535, 65536,    1'700'000'000'000,  kMax - 1, kMax};
  for (size_t i = 0; i < times.size(); ++i) {
    for (size_t j = 0; j < times.size(); ++j) {
      std::string a = SampleKey(kSeries, times[i]), b = SampleKey(kSeries, times[j]);
      EXPECT_EQ(a < b, times[i] < times[j]) << times[i] << " vs " << times[j];
      EXPECT_EQ(a == b, times[i] == times[j]) << times[i] << " vs " << times[j];
    }
  }
}

TEST(SampleKey, ByteOrderEqualsTimeOrderForPseudoRandomTimes) {
  uint64_t x = 88172645463325252ull;
  std::vector<int64_t> times;
  for (int i = 0; i < 500; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    times.push_back(static_cast<int64_t>(x));
  }
  std::vector<std::string> keys;
  for (int64_t t : times) keys.push_back(SampleKey(kSeries, t));
  std::sort(times.begin(), times.end());
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < keys.size(); ++i) {
    int64_t t;
    ASSERT_TRUE(DecodeSampleTime(keys[i], &t));
    EXPECT_EQ(t, times[i]);
  }
}

TEST(SampleKey, IsSeriesKeySeparatorAndEightBigEndianBytes) {
  std::string k = SampleKey("s", 1);
  ASSERT_EQ(k.size(), 1u + 1u + 8u);
  EXPECT_EQ(k.substr(0, 2), std::string("s\0", 2));
  EXPECT_EQ(k.substr(2), std::string("\x80\x00\x00\x00\x00\x00\x00\x01", 8));
  EXPECT_EQ(SampleKey("s", -1).substr(2), std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8));
}

TEST(DecodeSampleTime, RoundTripsBoundaryTimes) {
  for (int64_t t : {std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0}, int64_t{1},
                    int64_t{1'700'000'000'123}, std::numeric_limits<int64_t>::max()}) {
    int64_t got = 42;
    ASSERT_TRUE(DecodeSampleTime(SampleKey(kSeries, t), &got)) << t;
    EXPECT_EQ(got, t);
  }
  // Also with an empty series key (shortest valid key).
  int64_t got = 0;
  ASSERT_TRUE(DecodeSampleTime(SampleKey("", -7), &got));
  EXPECT_EQ(got, -7);
}

TEST(DecodeSampleTime, RejectsMalformedKeys) {
  int64_t t = 99;
  EXPECT_FALSE(DecodeSampleTime("", &t));
  EXPECT_FALSE(DecodeSampleTime("short", &t));
  EXPECT_FALSE(DecodeSampleTime(std::string(8, '\0'), &t));  // no separator room
  // Nine bytes but the separator is not \0.
  EXPECT_FALSE(DecodeSampleTime("x12345678", &t));
  // A series key without a sample time.
  EXPECT_FALSE(DecodeSampleTime(kSeries, &t));
  // A sample key with one byte cut off.
  std::string k = SampleKey(kSeries, 5);
  EXPECT_FALSE(DecodeSampleTime(k.substr(0, k.size() - 1), &t));
  EXPECT_EQ(t, 99) << "a rejected key must not write the output";
}

TEST(PrefixEnd, IncrementsLastByte) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd(std::string("a\0", 2)), std::string("a\x01", 2));
}

TEST(PrefixEnd, DropsTrailingFfBytes) {
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xff\xff"), "b");
  EXPECT_EQ(PrefixEnd("a\xfe\xff"), "a\xff");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

TEST(PrefixEnd, IsGreaterThanEveryKeyWithThePrefix) {
  for (std::string prefix :
       {std::string("a1\0", 3), std::string("a\xff"), std::string("\x7f\xff\xff")}) {
    std::string end = PrefixEnd(prefix);
    for (std::string suffix :
         {std::string(), std::string("\xff\xff\xff\xff"), std::string(1, '\0')}) {
      EXPECT_LT(prefix + suffix, end);
    }
    EXPECT_EQ(end, PrefixEnd(prefix + "\xff\xff"));
  }
}

TEST(Keys, AgentPrefixesDoNotOverlapWhenOneIdPrefixesAnother) {
  std::string a1 = AgentPrefix("a1"), a10 = AgentPrefix("a10");
  EXPECT_NE(a10.compare(0, a1.size(), a1), 0);
  EXPECT_LT(SeriesKey("a1", "zzz", "zzz"), PrefixEnd(a1));
  EXPECT_GE(SeriesKey("a10", "a", ""), PrefixEnd(a1));
  EXPECT_LT(PrefixEnd(MetricPrefix("a1", "cpu")), MetricPrefix("a1", "cpu_total"));
}

TEST(Keys, LabelKeyJoinsInGivenOrder) {
  google::protobuf::RepeatedPtrField<v1::Label> labels;
  EXPECT_EQ(LabelKey(labels), "");
  auto* l = labels.Add();
  l->set_name("cpu");
  l->set_value("0");
  l = labels.Add();
  l->set_name("mode");
  l->set_value("a=b");
  EXPECT_EQ(LabelKey(labels), "cpu=0\x1fmode=a=b");
}

TEST(Keys, InventoryKeyHasAllParts) {
  v1::SoftwareItem item;
  item.set_source("dpkg");
  item.set_name("openssl");
  item.set_arch("amd64");
  item.set_version("3.0");
  EXPECT_EQ(InventoryKey("a1", item), std::string("a1\0dpkg\0openssl\0amd64\0", 22));
  item.set_location("/usr/lib/node_modules");
  EXPECT_EQ(InventoryKey("a1", item), std::string("a1\0dpkg\0openssl\0amd64\0/usr/lib/node_modules", 43));
}

TEST(Keys, ChangeKeysSortByTimeThenSeqThenIndex) {
  EXPECT_LT(ChangeKey("a1", -5, 9, 9), ChangeKey("a1", 3, 0, 0));
  EXPECT_LT(ChangeKey("a1", 3, 1, 9), ChangeKey("a1", 3, 2, 0));
  EXPECT_LT(ChangeKey("a1", 3, 2, 0), ChangeKey("a1", 3, 2, 1));
  EXPECT_TRUE(absl::StartsWith(ChangeKey("a1", 3, 2, 1), AgentPrefix("a1")));
  EXPECT_FALSE(absl::StartsWith(ChangeKey("a10", 3, 2, 1), AgentPrefix("a1")));
}

TEST(Keys, HasNulFindsEmbeddedNul) {
  EXPECT_FALSE(HasNul("abc"));
  EXPECT_FALSE(HasNul(""));
  EXPECT_TRUE(HasNul(std::string("a\0c", 3)));
  EXPECT_TRUE(HasNul(std::string(1, '\0')));
}

}  // namespace
}  // namespace steward::collector::keys
