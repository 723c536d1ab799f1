#pragma once
// Sample generators and round-trip checks shared by the chunk codec tests.

#include <algorithm>
#include <bit>
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

namespace steward::collector::tsdb::chunk_test {

inline uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

// Values that break naive codecs; NaNs with distinct payloads and signs.
inline std::vector<double> AdversarialValues() {
  return {std::bit_cast<double>(uint64_t{0x7ff8000000000000}),  // quiet NaN
          std::bit_cast<double>(uint64_t{0x7ff8000000000001}),  // quiet NaN, payload 1
          std::bit_cast<double>(uint64_t{0xfff8dead0000beef}),  // negative NaN, payload
          std::bit_cast<double>(uint64_t{0x7ff0000000000001}),  // signalling NaN
          std::bit_cast<double>(uint64_t{0x7ff4000000000000}),  // signalling NaN
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          0.0,
          -0.0,
          std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(),
          std::bit_cast<double>(uint64_t{0x000fffffffffffff}),  // largest denormal
          DBL_MIN,
          -DBL_MIN,
          DBL_MAX,
          -DBL_MAX,
          DBL_EPSILON,
          1e-300,
          -1e300,
          9.3e18,
          -9.3e18,
          std::ldexp(1.0, 62),
          0.1 + 0.2,
          1.0,
          -1.0,
          42.0};
}

enum class ValueKind {
  kTwoDecimalWalk,  // TSBS cpu-style percentages
  kByteGauge,       // large integers, multiples of 1024
  kCounterWithResets,
  kConstant,
  kRandomBits,     // any 64-bit pattern
  kRandomDoubles,  // uniform doubles with full mantissas
  kAdversarial,    // drawn from AdversarialValues()
  kHugeAndTiny,
  kAlternatingSigns,
};
inline constexpr int kValueKinds = 9;

enum class TimeKind {
  kRegularWithJitter,  // 10 s, a few ms of jitter
  kIrregular,
  kHugeGaps,  // days between samples
  kNegative,  // before 1970
  kExtremes,  // near INT64_MIN and INT64_MAX
};
inline constexpr int kTimeKinds = 5;

inline std::vector<int64_t> MakeTimes(std::mt19937_64& rng, TimeKind kind, int n) {
  std::vector<int64_t> t;
  t.reserve(static_cast<size_t>(n));
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int64_t start = 1'700'000'000'000 + uniform(0, 1'000'000'000);
  switch (kind) {
    case TimeKind::kRegularWithJitter:
      for (int i = 0; i < n; ++i) t.push_back(start + 10'000 * i + uniform(-4, 4));
      break;
    case TimeKind::kIrregular:
      t.push_back(start);
      for (int i = 1; i < n; ++i) t.push_back(t.back() + uniform(1, 100'000));
      break;
    case TimeKind::kHugeGaps:
      t.push_back(start);
      for (int i = 1; i < n; ++i) t.push_back(t.back() + uniform(1, 30 * 86'400'000LL));
      break;
    case TimeKind::kNegative:
      t.push_back(-start);
      for (int i = 1; i < n; ++i) t.push_back(t.back() + uniform(1, 20'000));
      break;
    case TimeKind::kExtremes: {
      // Half the points from INT64_MIN up, the other half up to INT64_MAX.
      int64_t lo = std::numeric_limits<int64_t>::min();
      int64_t hi = std::numeric_limits<int64_t>::max();
      int low_half = n / 2;
      for (int i = 0; i < low_half; ++i) t.push_back(lo + i);
      for (int i = n - low_half - 1; i >= 0; --i) t.push_back(hi - i);
      break;
    }
  }
  return t;
}

inline std::vector<double> MakeValues(std::mt19937_64& rng, ValueKind kind, int n) {
  std::vector<double> v;
  v.reserve(static_cast<size_t>(n));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  switch (kind) {
    case ValueKind::kTwoDecimalWalk: {
      int64_t k = pick(0, 10'000);  // hundredths
      for (int i = 0; i < n; ++i) {
        k = std::clamp<int64_t>(k + pick(-100, 100), 0, 10'000);
        v.push_back(static_cast<double>(k) / 100.0);
      }
      break;
    }
    case ValueKind::kByteGauge: {
      int64_t kib = pick(1 << 20, 64 << 20);
      for (int i = 0; i < n; ++i) {
        kib = std::max<int64_t>(0, kib + pick(-4096, 4096));
        v.push_back(static_cast<double>(kib * 1024));
      }
      break;
    }
    case ValueKind::kCounterWithResets: {
      int64_t c = pick(0, 1'000'000'000);
      for (int i = 0; i < n; ++i) {
        c = pick(0, 50) == 0 ? pick(0, 100) : c + pick(0, 5'000);
        v.push_back(static_cast<double>(c));
      }
      break;
    }
    case ValueKind::kConstant: {
      double c = pick(0, 1) ? 1.0 : unit(rng) * 1e6;
      v.assign(static_cast<size_t>(n), c);
      break;
    }
    case ValueKind::kRandomBits:
      for (int i = 0; i < n; ++i) v.push_back(std::bit_cast<double>(static_cast<uint64_t>(rng())));
      break;
    case ValueKind::kRandomDoubles:
      for (int i = 0; i < n; ++i) v.push_back(unit(rng) * 1000.0);
      break;
    case ValueKind::kAdversarial: {
      std::vector<double> pool = AdversarialValues();
      for (int i = 0; i < n; ++i) v.push_back(pool[rng() % pool.size()]);
      break;
    }
    case ValueKind::kHugeAndTiny:
      for (int i = 0; i < n; ++i) {
        double m = unit(rng);
        v.push_back(pick(0, 1) ? m * 1e300 : m * 1e-300);
      }
      break;
    case ValueKind::kAlternatingSigns:
      for (int i = 0; i < n; ++i) {
        double m = static_cast<double>(pick(0, 100'000)) / 1000.0;
        v.push_back(i % 2 ? -m : m);
      }
      break;
  }
  return v;
}

inline std::vector<Sample> Zip(const std::vector<int64_t>& t, const std::vector<double>& v) {
  std::vector<Sample> s;
  for (size_t i = 0; i < t.size() && i < v.size(); ++i) s.push_back({t[i], v[i]});
  return s;
}

inline std::string Encode(const std::vector<Sample>& samples,
                          ValuePolicy policy = ValuePolicy::kSmallest) {
  ChunkEncoder encoder(policy);
  for (const Sample& s : samples) {
    absl::Status st = encoder.Append(s.time_ms, s.value);
    EXPECT_TRUE(st.ok()) << st;
  }
  size_t estimate = encoder.size_estimate();
  std::string bytes = encoder.Finish();
  EXPECT_LE(bytes.size(), estimate);
  return bytes;
}

// True if the two sample lists are equal, values compared bit for bit.
inline ::testing::AssertionResult SameSamples(const std::vector<Sample>& want,
                                              const std::vector<Sample>& got) {
  if (want.size() != got.size()) {
    return ::testing::AssertionFailure() << got.size() << " samples, want " << want.size();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].time_ms != got[i].time_ms || Bits(want[i].value) != Bits(got[i].value)) {
      return ::testing::AssertionFailure()
             << "sample " << i << ": got (" << got[i].time_ms << ", 0x" << std::hex
             << Bits(got[i].value) << std::dec << "), want (" << want[i].time_ms << ", 0x"
             << std::hex << Bits(want[i].value) << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// Encodes, then decodes both ways (DecodeChunk and ChunkIterator) and checks
// the samples come back bit for bit. Returns the chosen encoding.
inline ValueEncoding ExpectRoundTrip(const std::vector<Sample>& samples,
                                     ValuePolicy policy = ValuePolicy::kSmallest) {
  std::string bytes = Encode(samples, policy);
  absl::StatusOr<std::vector<Sample>> decoded = DecodeChunk(bytes);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (!decoded.ok()) return ValueEncoding::kGorillaXor;
  EXPECT_TRUE(SameSamples(samples, *decoded));
  absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(bytes);
  EXPECT_TRUE(it.ok());
  std::vector<Sample> lazy;
  while (it->Next()) lazy.push_back(it->sample());
  EXPECT_TRUE(it->status().ok()) << it->status();
  EXPECT_TRUE(SameSamples(samples, lazy));
  if (policy == ValuePolicy::kGorillaOnly) {
    EXPECT_EQ(it->encoding(), ValueEncoding::kGorillaXor);
  }
  // As range reads decode (AppendSpan, with its fast path for packed
  // values): all at once, and in two spans split at a sample's time.
  absl::StatusOr<ChunkIterator> whole = ChunkIterator::Open(bytes);
  std::vector<Sample> spans;
  EXPECT_FALSE(whole->AppendSpan(std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max(), &spans));
  EXPECT_TRUE(whole->status().ok()) << whole->status();
  EXPECT_TRUE(SameSamples(samples, spans)) << "one span";
  if (samples.size() > 2) {
    const size_t cut = samples.size() / 3;
    absl::StatusOr<ChunkIterator> split = ChunkIterator::Open(bytes);
    spans.clear();
    // [min, t[cut]], then (t[cut], t[2 cut]): the sample between the two
    // spans' ends waits as pending; the last third is not decoded.
    EXPECT_TRUE(split->AppendSpan(std::numeric_limits<int64_t>::min(), samples[cut].time_ms, &spans));
    EXPECT_TRUE(split->AppendSpan(samples[cut].time_ms + 1, samples[2 * cut].time_ms, &spans) ||
                2 * cut + 1 == samples.size());
    EXPECT_TRUE(split->status().ok()) << split->status();
    EXPECT_TRUE(SameSamples(std::vector<Sample>(samples.begin(), samples.begin() + 2 * cut + 1), spans))
        << "two spans";
  }
  return it->encoding();
}

}  // namespace steward::collector::tsdb::chunk_test
