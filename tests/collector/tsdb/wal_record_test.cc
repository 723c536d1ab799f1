// TSDB WAL records (wal_record.h): round trips, the older layout, and
// broken bytes refused with DataLoss.

#include "collector/tsdb/wal_record.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace steward::collector::tsdb {
namespace {

WalRecord SomeRecord() {
  WalRecord r;
  const int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  r.samples = {{1763892000000, 0.25}, {1763892000000, -0.0}, {kMax, 1e300}, {kMin, -1},
               {-5, std::numeric_limits<double>::quiet_NaN()}, {7, 3}};
  r.runs = {{1, 0, 1}, {300, 1, 2}, {uint64_t{1} << 60, 3, 0}, {1, 3, 3}};
  return r;
}

void ExpectSame(const WalRecord& a, const WalRecord& b) {
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].id, b.runs[i].id);
    ASSERT_EQ(a.runs[i].count, b.runs[i].count);
    for (uint32_t j = 0; j < a.runs[i].count; ++j) {
      const Sample& x = a.samples[a.runs[i].begin + j];
      const Sample& y = b.samples[b.runs[i].begin + j];
      EXPECT_EQ(x.time_ms, y.time_ms) << i << "/" << j;
      EXPECT_EQ(std::bit_cast<uint64_t>(x.value), std::bit_cast<uint64_t>(y.value)) << i << "/" << j;
    }
  }
}

TEST(WalRecord, RoundTripKeepsIdsTimesAndValueBits) {
  WalRecord in = SomeRecord();
  std::string bytes;
  EncodeWalRecord(in, &bytes);
  WalRecord out;
  ASSERT_TRUE(DecodeWalRecord(9, bytes, &out).ok());
  ExpectSame(out, in);
  // One sample per series, as agents send: about 11 bytes a sample.
  WalRecord batch;
  for (uint32_t i = 0; i < 1000; ++i) {
    batch.samples.push_back({1763892000000, 40.0 + i});
    batch.runs.push_back({1000 + i, i, 1});
  }
  EncodeWalRecord(batch, &bytes);
  EXPECT_LE(bytes.size(), 1000u * 12 + 16);
  ASSERT_TRUE(DecodeWalRecord(10, bytes, &out).ok());
  ExpectSame(out, batch);
}

TEST(WalRecord, VersionOneRecordsAreStillRead) {
  // 1 run: id 42 (8 bytes BE), 1 sample: time 1000, value 2.5 (bits BE).
  std::string v1;
  v1.push_back(1);
  for (int s = 56; s >= 0; s -= 8) v1.push_back(static_cast<char>(uint64_t{42} >> s));
  v1.push_back(1);
  for (int s = 56; s >= 0; s -= 8) v1.push_back(static_cast<char>(uint64_t{1000} >> s));
  const uint64_t bits = std::bit_cast<uint64_t>(2.5);
  for (int s = 56; s >= 0; s -= 8) v1.push_back(static_cast<char>(bits >> s));
  WalRecord out;
  ASSERT_TRUE(DecodeWalRecord(1, v1, &out).ok());
  ASSERT_EQ(out.runs.size(), 1u);
  EXPECT_EQ(out.runs[0].id, 42u);
  ASSERT_EQ(out.samples.size(), 1u);
  EXPECT_EQ(out.samples[0].time_ms, 1000);
  EXPECT_EQ(out.samples[0].value, 2.5);
}

TEST(WalRecord, BrokenBytesAreDataLoss) {
  std::string bytes;
  EncodeWalRecord(SomeRecord(), &bytes);
  WalRecord out;
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::Status s = DecodeWalRecord(3, bytes.substr(0, n), &out);
    EXPECT_TRUE(absl::IsDataLoss(s)) << "truncated to " << n << ": " << s;
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeWalRecord(3, bytes + "x", &out)));
  std::string other = bytes;
  other[1] = 7;
  absl::Status s = DecodeWalRecord(3, other, &out);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_NE(s.message().find("unknown version 7"), std::string::npos) << s;
}

}  // namespace
}  // namespace steward::collector::tsdb
