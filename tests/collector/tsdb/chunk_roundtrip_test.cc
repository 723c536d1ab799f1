// Round-trip properties of the chunk codec over seeded random chunks, plus
// the encoder's contract (ordering, limits, choice of value encoding).

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_iterator.h"
#include "gtest/gtest.h"
#include "tests/collector/tsdb/chunk_test_util.h"

namespace steward::collector::tsdb {
namespace {

using chunk_test::AdversarialValues;
using chunk_test::Bits;
using chunk_test::Encode;
using chunk_test::ExpectRoundTrip;
using chunk_test::MakeTimes;
using chunk_test::MakeValues;
using chunk_test::TimeKind;
using chunk_test::ValueKind;
using chunk_test::Zip;

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

TEST(ChunkRoundTrip, RandomChunksOfEveryValueAndTimeKind) {
  std::mt19937_64 rng(20240601);
  for (int round = 0; round < 3000; ++round) {
    auto value_kind = static_cast<ValueKind>(round % chunk_test::kValueKinds);
    auto time_kind =
        static_cast<TimeKind>((round / chunk_test::kValueKinds) % chunk_test::kTimeKinds);
    int n = 1 + static_cast<int>(rng() % 300);
    std::vector<Sample> samples = Zip(MakeTimes(rng, time_kind, n), MakeValues(rng, value_kind, n));
    SCOPED_TRACE(::testing::Message()
                 << "round " << round << " values " << static_cast<int>(value_kind) << " times "
                 << static_cast<int>(time_kind) << " n " << n);
    ExpectRoundTrip(samples, ValuePolicy::kSmallest);
    ExpectRoundTrip(samples, ValuePolicy::kGorillaOnly);
    if (HasFailure()) return;
  }
}

TEST(ChunkRoundTrip, AdversarialValuesComeBackBitForBit) {
  std::vector<double> pool = AdversarialValues();
  std::vector<Sample> samples;
  for (size_t i = 0; i < pool.size(); ++i) samples.push_back({static_cast<int64_t>(i), pool[i]});
  ExpectRoundTrip(samples);
  // Every pair in both orders: each transition of the XOR coder.
  samples.clear();
  int64_t t = -1'000'000;
  for (double a : pool) {
    for (double b : pool) {
      samples.push_back({t++, a});
      samples.push_back({t++, b});
    }
  }
  ExpectRoundTrip(samples);
  // Each value alone, as the first (header-adjacent) sample.
  for (double v : pool) {
    SCOPED_TRACE(Bits(v));
    ExpectRoundTrip({{0, v}});
  }
}

TEST(ChunkRoundTrip, NegativeZeroIsNotZero) {
  std::vector<Sample> samples = {{1, 0.0}, {2, -0.0}, {3, 0.0}, {4, 1.5}};
  EXPECT_EQ(ExpectRoundTrip(samples), ValueEncoding::kGorillaXor);
  EXPECT_NE(ExpectRoundTrip({{1, 0.5}, {2, 0.25}, {3, 0.0}}), ValueEncoding::kGorillaXor);
}

TEST(ChunkRoundTrip, TimestampExtremes) {
  ExpectRoundTrip({{kMinTime, 1.0}});
  ExpectRoundTrip({{kMaxTime, 1.0}});
  ExpectRoundTrip({{kMinTime, 1.0}, {kMaxTime, 2.0}});
  ExpectRoundTrip(
      {{kMinTime, 1.0}, {kMinTime + 1, 2.0}, {0, 3.0}, {kMaxTime - 1, 4.0}, {kMaxTime, 5.0}});
  ExpectRoundTrip({{-1, 1.0}, {0, 1.0}, {1, 1.0}});
  // Deltas at every bucket edge of the delta-of-delta coder.
  std::vector<Sample> samples;
  int64_t t = 0, delta = 10'000;
  for (int64_t dod :
       {0LL, 15LL, -16LL, 16LL, -17LL, 255LL, -256LL, 256LL, -257LL, 32767LL, -32768LL, 32768LL,
        -32769LL, 2147483647LL, -2147483648LL, 2147483648LL, 1LL << 40}) {
    if (delta + dod < 1) continue;
    delta += dod;
    t += delta;
    samples.push_back({t, 1.0});
  }
  ExpectRoundTrip(samples);
}

TEST(ChunkRoundTrip, EmptySingleAndMaxSizeChunks) {
  ChunkEncoder empty;
  std::string bytes = empty.Finish();
  absl::StatusOr<std::vector<Sample>> decoded = DecodeChunk(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());

  ExpectRoundTrip({{1'700'000'000'000, 0.25}});

  std::mt19937_64 rng(7);
  std::vector<Sample> full = Zip(MakeTimes(rng, TimeKind::kRegularWithJitter, kMaxChunkSamples),
                                 MakeValues(rng, ValueKind::kTwoDecimalWalk, kMaxChunkSamples));
  ExpectRoundTrip(full);
  ChunkEncoder encoder;
  for (const Sample& s : full) ASSERT_TRUE(encoder.Append(s.time_ms, s.value).ok());
  absl::Status over = encoder.Append(kMaxTime, 1.0);
  EXPECT_EQ(over.code(), absl::StatusCode::kFailedPrecondition) << over;
}

TEST(ChunkEncoder, RefusesOutOfOrderAndDuplicateTimesAndStaysUsable) {
  ChunkEncoder encoder;
  ASSERT_TRUE(encoder.Append(1000, 1.0).ok());
  absl::Status dup = encoder.Append(1000, 2.0);
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.message(), "chunk: time 1000 ms is not after the last sample's 1000 ms");
  EXPECT_EQ(encoder.Append(999, 2.0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder.count(), 1);
  ASSERT_TRUE(encoder.Append(2000, 3.0).ok());
  absl::StatusOr<std::vector<Sample>> decoded = DecodeChunk(encoder.Finish());
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(chunk_test::SameSamples({{1000, 1.0}, {2000, 3.0}}, *decoded));
  // Finish() left it empty: a new chunk may start anywhere in time.
  EXPECT_EQ(encoder.count(), 0);
  ASSERT_TRUE(encoder.Append(5, 1.0).ok());
}

TEST(ChunkEncoder, SizeEstimateIsAnUpperBoundAndExactForGorilla) {
  std::mt19937_64 rng(99);
  for (int kind = 0; kind < chunk_test::kValueKinds; ++kind) {
    std::vector<Sample> samples = Zip(MakeTimes(rng, TimeKind::kIrregular, 120),
                                      MakeValues(rng, static_cast<ValueKind>(kind), 120));
    ChunkEncoder gorilla(ValuePolicy::kGorillaOnly), smallest;
    for (const Sample& s : samples) {
      ASSERT_TRUE(gorilla.Append(s.time_ms, s.value).ok());
      ASSERT_TRUE(smallest.Append(s.time_ms, s.value).ok());
    }
    size_t estimate = gorilla.size_estimate();
    EXPECT_EQ(smallest.size_estimate(), estimate);
    EXPECT_EQ(gorilla.Finish().size(), estimate);
    EXPECT_LE(smallest.Finish().size(), estimate);
  }
}

ValueEncoding EncodingOf(const std::string& bytes) {
  absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(bytes);
  EXPECT_TRUE(it.ok()) << it.status();
  return it.ok() ? it->encoding() : ValueEncoding::kGorillaXor;
}

TEST(ChunkEncoder, PicksScaledIntegersForTwoDecimalData) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) {
    std::vector<Sample> samples = Zip(MakeTimes(rng, TimeKind::kRegularWithJitter, 120),
                                      MakeValues(rng, ValueKind::kTwoDecimalWalk, 120));
    std::string bytes = Encode(samples);
    absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(bytes);
    ASSERT_TRUE(it.ok());
    EXPECT_TRUE(IsScaled(it->encoding())) << ValueEncodingName(it->encoding());
    EXPECT_LE(it->decimals(), 2);
    EXPECT_LT(bytes.size(), Encode(samples, ValuePolicy::kGorillaOnly).size());
    // 2-decimal walks with steps up to 1.00: a byte per value or so, plus
    // about a byte per jittered timestamp.
    EXPECT_LT(static_cast<double>(bytes.size()) / 120, 2.2);
  }
}

TEST(ChunkEncoder, PicksGorillaForRandomDoubles) {
  std::mt19937_64 rng(2);
  for (ValueKind kind :
       {ValueKind::kRandomDoubles, ValueKind::kRandomBits, ValueKind::kHugeAndTiny}) {
    std::vector<Sample> samples =
        Zip(MakeTimes(rng, TimeKind::kRegularWithJitter, 120), MakeValues(rng, kind, 120));
    EXPECT_EQ(EncodingOf(Encode(samples)), ValueEncoding::kGorillaXor);
  }
}

TEST(ChunkEncoder, ScaledIntegersNeedEveryValueToQualify) {
  // One value with more than 9 decimals, a NaN, an infinity or an integer
  // past 2^63 sends the whole chunk to Gorilla.
  for (double odd :
       {0.1 + 0.2, std::nan(""), -std::numeric_limits<double>::infinity(), 1e19, -0.0, 1e-10}) {
    SCOPED_TRACE(odd);
    std::vector<Sample> samples;
    for (int i = 0; i < 60; ++i) samples.push_back({i * 10'000LL, i * 0.5});
    samples.push_back({61 * 10'000LL, odd});
    EXPECT_EQ(ExpectRoundTrip(samples), ValueEncoding::kGorillaXor);
  }
  // Large exact integers with 0 decimals do qualify (and win for a counter).
  std::vector<Sample> big;
  std::mt19937_64 rng(4);
  double c = 1e15;
  for (int i = 0; i < 60; ++i) big.push_back({i, c += static_cast<double>(rng() % 1000)});
  EXPECT_TRUE(IsScaled(ExpectRoundTrip(big)));
  ExpectRoundTrip({{0, 1e15}, {1, std::ldexp(1.0, 62)}, {2, -1e18}, {3, -std::ldexp(1.0, 62)}});
  // Nine decimals do; the values need not share their decimal count.
  EXPECT_TRUE(IsScaled(ExpectRoundTrip({{0, 0.123456789}, {1, 1.0}, {2, 2.5}})));
}

TEST(ChunkEncoder, CountersAndGaugesCompressWell) {
  // A counter with a steady rate: delta of delta is zero, packed in 0 bits.
  std::vector<Sample> counter;
  for (int i = 0; i < 120; ++i) counter.push_back({i * 10'000LL, 1e9 + 5000.0 * i});
  EXPECT_EQ(ExpectRoundTrip(counter), ValueEncoding::kScaledDodPacked);
  EXPECT_LT(Encode(counter).size(), 40u);

  std::vector<Sample> constant;
  for (int i = 0; i < 120; ++i) constant.push_back({i * 10'000LL, 42.5});
  EXPECT_TRUE(IsScaled(ExpectRoundTrip(constant)));
  EXPECT_LT(Encode(constant).size(), 40u);

  // Byte gauges in KiB steps: the common power-of-two factor is shifted out.
  std::mt19937_64 rng(3);
  std::vector<Sample> gauge = Zip(MakeTimes(rng, TimeKind::kRegularWithJitter, 120),
                                  MakeValues(rng, ValueKind::kByteGauge, 120));
  EXPECT_TRUE(IsScaled(ExpectRoundTrip(gauge)));
  EXPECT_LT(Encode(gauge).size(), Encode(gauge, ValuePolicy::kGorillaOnly).size() * 3 / 4);
}

}  // namespace
}  // namespace steward::collector::tsdb
