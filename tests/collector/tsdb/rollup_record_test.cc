// Rollup records (rollup.h): round trips of every field, and broken bytes
// refused without a crash.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "collector/tsdb/rollup.h"
#include "collector/tsdb/tsdb_keys.h"
#include "gtest/gtest.h"

namespace steward::collector::tsdb {
namespace {

std::vector<RollupBucket> SomeBuckets() {
  std::vector<Sample> samples;
  for (int i = 0; i < 120; ++i) samples.push_back({1763892000000 + i * 10'000, 40.0 + (i % 7) * 0.25});
  samples[5].value = std::numeric_limits<double>::quiet_NaN();
  samples[6].value = -0.0;
  samples[7].value = std::numeric_limits<double>::infinity();
  return BucketsOf(samples, 60'000);
}

void ExpectSame(const std::vector<RollupBucket>& a, const std::vector<RollupBucket>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].start_ms, b[i].start_ms) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].min), std::bit_cast<uint64_t>(b[i].min)) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].max), std::bit_cast<uint64_t>(b[i].max)) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].sum), std::bit_cast<uint64_t>(b[i].sum)) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].last), std::bit_cast<uint64_t>(b[i].last)) << i;
    EXPECT_EQ(a[i].count, b[i].count) << i;
    EXPECT_EQ(a[i].last_ms, b[i].last_ms) << i;
  }
}

// One bucket per sample run, by hand: NaN loses to numbers (fmin/fmax), and
// wins only alone; coarser buckets merged from finer ones equal those built
// from the samples (these sums are exact).
TEST(RollupBuckets, FromSamplesAndFromFinerBuckets) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Sample> samples = {{0, nan}, {10'000, 2.5}, {50'000, -1},  // minute 0
                                 {60'000, nan},                         // minute 1: NaN only
                                 {130'000, 4}, {170'000, 8},             // minute 2
                                 {300'000, 1}};                          // minute 5
  std::vector<RollupBucket> minutes = BucketsOf(samples, 60'000);
  ASSERT_EQ(minutes.size(), 4u);
  EXPECT_EQ(minutes[0].start_ms, 0);
  EXPECT_EQ(minutes[0].min, -1);
  EXPECT_EQ(minutes[0].max, 2.5);
  EXPECT_TRUE(std::isnan(minutes[0].sum));
  EXPECT_EQ(minutes[0].count, 3u);
  EXPECT_EQ(minutes[0].last, -1);
  EXPECT_EQ(minutes[0].last_ms, 50'000);
  EXPECT_TRUE(std::isnan(minutes[1].min) && std::isnan(minutes[1].max));
  EXPECT_EQ(minutes[2].start_ms, 120'000);
  EXPECT_EQ(minutes[2].sum, 12);
  EXPECT_EQ(minutes[2].last, 8);
  EXPECT_EQ(minutes[3].start_ms, 300'000);

  std::vector<RollupBucket> direct = BucketsOf(samples, 300'000);
  std::vector<RollupBucket> merged = CoarserBuckets(minutes, 300'000);
  ASSERT_EQ(direct.size(), 2u);
  ASSERT_EQ(merged.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(merged[i].start_ms, direct[i].start_ms);
    EXPECT_EQ(merged[i].min, direct[i].min);
    EXPECT_EQ(merged[i].max, direct[i].max);
    EXPECT_EQ(merged[i].count, direct[i].count);
    EXPECT_EQ(merged[i].last, direct[i].last);
    EXPECT_EQ(merged[i].last_ms, direct[i].last_ms);
  }
  EXPECT_EQ(direct[0].min, -1);
  EXPECT_EQ(direct[0].max, 8);
  EXPECT_EQ(direct[0].count, 6u);
  EXPECT_EQ(merged[1].sum, 1);
}

TEST(RollupRecord, RoundTripKeepsEveryField) {
  std::vector<RollupBucket> buckets = SomeBuckets();
  ASSERT_EQ(buckets.size(), 20u);
  std::string bytes = EncodeRollupRecord(buckets);
  std::vector<RollupBucket> out = {RollupBucket{}};  // appended after what is there
  ASSERT_TRUE(DecodeRollupRecord(bytes, &out));
  out.erase(out.begin());
  ExpectSame(out, buckets);
  // Columns compress: far below the 48 bytes a bucket took one key each.
  EXPECT_LT(bytes.size(), buckets.size() * 24);
}

// Records of the earlier layout (one per chunk, before 2026-12-08) still
// decode, whole or a column at a time, and broken ones are refused.
TEST(RollupRecord, VersionOneRecordsStillDecode) {
  std::vector<RollupBucket> buckets = SomeBuckets();
  const std::string v1 = EncodeRollupRecordV1(buckets);
  std::vector<RollupBucket> out;
  ASSERT_TRUE(DecodeRollupRecord(v1, &out));
  ExpectSame(out, buckets);
  std::vector<RollupBucket> max_only;
  ASSERT_TRUE(DecodeRollupRecord(v1, &max_only, kRollupMax));
  ASSERT_EQ(max_only.size(), buckets.size());
  EXPECT_EQ(max_only[3].max, buckets[3].max);
  EXPECT_EQ(max_only[3].sum, 0);
  for (size_t n = 0; n < v1.size(); ++n) {
    std::vector<RollupBucket> got;
    EXPECT_FALSE(DecodeRollupRecord(v1.substr(0, n), &got)) << "truncated to " << n;
  }
  // NaN, -0 and infinity keep three columns in chunks here.
  EXPECT_LT(EncodeRollupRecord(buckets).size(), v1.size());
}

// A day of 5 min buckets of a 2-decimal gauge (a random walk, as in the
// tsdb benchmark), 30 samples a bucket: about 6 bytes a bucket, sums stored
// as decimals within their rounding, every other field exact.
TEST(RollupRecord, ADayOfFiveMinuteBucketsIsSmall) {
  std::vector<Sample> samples;
  double v = 50;
  uint64_t x = 12345;
  for (int i = 0; i < 8640; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    v = std::clamp(std::round((v + static_cast<double>(x >> 40) / (1 << 24) * 2 - 1) * 100) / 100, 0.0, 100.0);
    samples.push_back({1765152000000 + i * 10'000, v});
  }
  std::vector<RollupBucket> buckets = BucketsOf(samples, 300'000);
  ASSERT_EQ(buckets.size(), 288u);
  const std::string bytes = EncodeRollupRecord(buckets);
  EXPECT_LT(bytes.size(), 288u * 8) << "bytes per bucket: " << bytes.size() / 288.0;
  EXPECT_LT(bytes.size() * 10, EncodeRollupRecordV1(buckets).size() * 6);
  std::vector<RollupBucket> out;
  ASSERT_TRUE(DecodeRollupRecord(bytes, &out));
  ASSERT_EQ(out.size(), buckets.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].start_ms, buckets[i].start_ms);
    EXPECT_EQ(out[i].min, buckets[i].min);
    EXPECT_EQ(out[i].max, buckets[i].max);
    EXPECT_EQ(out[i].last, buckets[i].last);
    EXPECT_EQ(out[i].count, buckets[i].count);
    EXPECT_EQ(out[i].last_ms, buckets[i].last_ms);
    EXPECT_NEAR(out[i].sum, buckets[i].sum, std::abs(buckets[i].sum) * 0x1p-40);
    // The decimal sum: what adding the samples as integers gives.
    double cents = 0;
    for (const Sample& s : samples) {
      if (s.time_ms >= buckets[i].start_ms && s.time_ms < buckets[i].start_ms + 300'000) {
        cents += std::round(s.value * 100);
      }
    }
    EXPECT_EQ(out[i].sum, cents / 100) << i;
  }
  // A sum that is not near a decimal keeps its bits (a chunk column).
  buckets[7].sum = 1.0 / 3;
  out.clear();
  ASSERT_TRUE(DecodeRollupRecord(EncodeRollupRecord(buckets), &out));
  EXPECT_EQ(std::bit_cast<uint64_t>(out[7].sum), std::bit_cast<uint64_t>(1.0 / 3));
}

TEST(RollupRecord, OneBucketAndNegativeTimes) {
  std::vector<RollupBucket> buckets = BucketsOf({{-3'600'000, 1.5}, {-3'599'000, 2.5}}, 3'600'000);
  ASSERT_EQ(buckets.size(), 1u);
  std::vector<RollupBucket> out;
  ASSERT_TRUE(DecodeRollupRecord(EncodeRollupRecord(buckets), &out));
  ExpectSame(out, buckets);
}

TEST(RollupRecord, BrokenBytesAreRefused) {
  std::string bytes = EncodeRollupRecord(SomeBuckets());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<RollupBucket> out;
    EXPECT_FALSE(DecodeRollupRecord(bytes.substr(0, n), &out)) << "truncated to " << n;
  }
  std::vector<RollupBucket> out;
  EXPECT_FALSE(DecodeRollupRecord(bytes + "x", &out)) << "trailing byte";
  // A bucket count that disagrees with the columns.
  std::string wrong = bytes;
  ASSERT_EQ(wrong[2], 20);
  wrong[2] = 19;
  EXPECT_FALSE(DecodeRollupRecord(wrong, &out));
  EXPECT_FALSE(DecodeRollupRecord(std::string(1, '\0'), &out)) << "zero buckets";
  // Every single-byte corruption either fails or yields well-formed buckets.
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    std::vector<RollupBucket> got;
    if (DecodeRollupRecord(flipped, &got)) {
      for (const RollupBucket& b : got) {
        EXPECT_GE(b.count, 1u);
        EXPECT_GE(b.last_ms, b.start_ms);
      }
    }
  }
}

TEST(RollupRecord, KeysOfBothKindsParse) {
  uint64_t id = 0;
  int64_t resolution = 0, time = 0;
  bool record = false;
  ASSERT_TRUE(keys::ParseRollupKey(keys::RollupRecordKey(7, 60'000, -120'000, -125'000), &id,
                                   &resolution, &time, &record));
  EXPECT_EQ(id, 7u);
  EXPECT_EQ(resolution, 60'000);
  EXPECT_EQ(time, -120'000);
  EXPECT_TRUE(record);
  ASSERT_TRUE(keys::ParseRollupKey(keys::RollupKey(7, 60'000, 5), &id, &resolution, &time, &record));
  EXPECT_FALSE(record);
  EXPECT_FALSE(keys::ParseRollupKey("short", &id, &resolution, &time, &record));
  // Records sort by last bucket, then chunk start, after the 24-byte seek key.
  EXPECT_LT(keys::RollupKey(7, 60'000, 0), keys::RollupRecordKey(7, 60'000, 0, -1));
  EXPECT_LT(keys::RollupRecordKey(7, 60'000, 0, 5), keys::RollupRecordKey(7, 60'000, 60'000, -5));
}

}  // namespace
}  // namespace steward::collector::tsdb

namespace steward::collector::tsdb {
namespace {

TEST(RollupRecord, OnlyTheAskedFieldsAreDecoded) {
  std::vector<RollupBucket> all = BucketsOf({{60'000, 4}, {61'000, 2}, {125'000, 7}}, 60'000);
  ASSERT_EQ(all.size(), 2u);
  const std::string bytes = EncodeRollupRecord(all);
  std::vector<RollupBucket> max_only;
  ASSERT_TRUE(DecodeRollupRecord(bytes, &max_only, kRollupMax));
  ASSERT_EQ(max_only.size(), 2u);
  EXPECT_EQ(max_only[0].start_ms, 60'000);
  EXPECT_EQ(max_only[0].count, 2u);
  EXPECT_EQ(max_only[0].max, 4);
  EXPECT_EQ(max_only[0].sum, 0);  // not decoded
  EXPECT_EQ(max_only[1].start_ms, 120'000);
  EXPECT_EQ(max_only[1].max, 7);
  std::vector<RollupBucket> last_only;
  ASSERT_TRUE(DecodeRollupRecord(bytes, &last_only, kRollupLast));
  EXPECT_EQ(last_only[0].last, 2);
  EXPECT_EQ(last_only[0].last_ms, 61'000);
  EXPECT_EQ(last_only[0].min, 0);  // not decoded
  // Broken bytes in a column that is skipped still fail the frame check.
  EXPECT_FALSE(DecodeRollupRecord(bytes.substr(0, bytes.size() - 1), &last_only, kRollupLast));
}

}  // namespace
}  // namespace steward::collector::tsdb
