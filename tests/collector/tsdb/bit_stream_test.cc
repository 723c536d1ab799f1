#include "collector/tsdb/bit_stream.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace steward::collector::tsdb {
namespace {

TEST(BitWriter, WritesMostSignificantBitFirstAndPadsWithZeros) {
  std::string out;
  BitWriter w(&out);
  w.WriteBits(0b101, 3);
  w.WriteBit(true);
  w.WriteBits(0, 0);
  w.WriteBits(0xff, 6);  // only the low 6 bits count
  EXPECT_EQ(w.bit_count(), 10u);
  w.Finish();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0b10111111);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0b11000000);
}

TEST(BitStream, RandomFieldsRoundTrip) {
  std::mt19937_64 rng(42);
  std::vector<std::pair<int, uint64_t>> fields;  // (bits, value); bits -1 = varint
  std::string out;
  BitWriter w(&out);
  BitCounter counter;
  for (int i = 0; i < 5000; ++i) {
    int bits = static_cast<int>(rng() % 66) - 1;
    uint64_t v = rng() >> (rng() % 64);
    if (bits >= 0 && bits < 64) v &= (uint64_t{1} << bits) - 1;
    fields.emplace_back(bits, v);
    if (bits < 0) {
      size_t before = w.bit_count();
      w.WriteVarint(v);
      EXPECT_EQ(w.bit_count() - before, 8u * static_cast<size_t>(VarintLength(v)));
    } else {
      w.WriteBits(v, bits);
      counter.WriteBits(v, bits);
    }
  }
  w.Finish();
  BitReader r(out);
  for (const auto& [bits, want] : fields) {
    uint64_t got = ~want;
    if (bits < 0) {
      ASSERT_TRUE(r.ReadVarint(&got));
    } else {
      ASSERT_TRUE(r.ReadBits(bits, &got));
    }
    ASSERT_EQ(got, want) << "bits " << bits;
  }
  EXPECT_LT(r.bits_remaining(), 8u);
}

TEST(BitReader, RefusesToReadPastTheEndAndKeepsItsPosition) {
  std::string data = "\xab";
  BitReader r(data);
  uint64_t v = 7;
  EXPECT_FALSE(r.ReadBits(9, &v));
  EXPECT_EQ(v, 7u);
  EXPECT_EQ(r.bit_position(), 0u);
  EXPECT_FALSE(r.ReadBits(65, &v));
  EXPECT_TRUE(r.ReadBits(8, &v));
  EXPECT_EQ(v, 0xabu);
  bool bit;
  EXPECT_FALSE(r.ReadBit(&bit));
  EXPECT_FALSE(r.ReadVarint(&v));
  EXPECT_TRUE(r.ReadBits(0, &v));
  EXPECT_EQ(v, 0u);

  BitReader empty("");
  EXPECT_FALSE(empty.ReadBit(&bit));
  EXPECT_EQ(empty.bits_remaining(), 0u);
}

TEST(BitReader, RejectsTruncatedAndOverlongVarints) {
  uint64_t v;
  BitReader truncated("\x80\x80");
  EXPECT_FALSE(truncated.ReadVarint(&v));
  EXPECT_EQ(truncated.bit_position(), 0u);

  // Eleven groups: more than 64 bits.
  std::string eleven = std::string(10, '\x80') + "\x01";
  BitReader overlong(eleven);
  EXPECT_FALSE(overlong.ReadVarint(&v));
  // Ten groups whose last carries bits beyond the 64th.
  std::string wide = std::string(9, '\xff') + "\x02";
  BitReader too_big(wide);
  EXPECT_FALSE(too_big.ReadVarint(&v));

  std::string max;
  BitWriter w(&max);
  w.WriteVarint(std::numeric_limits<uint64_t>::max());
  w.Finish();
  EXPECT_EQ(max.size(), 10u);
  BitReader ok(max);
  ASSERT_TRUE(ok.ReadVarint(&v));
  EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
}

}  // namespace
}  // namespace steward::collector::tsdb
