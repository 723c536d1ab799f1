#pragma once
// The chunk format: the samples (time in ms, double value) of one series,
// times strictly increasing. Shared by ChunkEncoder and ChunkIterator.
//
// Header (byte-aligned; varints are LEB128, "zz" means zigzag-mapped):
//   u8      format version (kChunkFormatVersion)
//   u8      value encoding (ValueEncoding)
//   varint  sample count n (0..kMaxChunkSamples)
//   if n > 0:
//     zz varint  first timestamp t0
//     scaled encodings only (value = k / 10^decimals, k an int64):
//       u8         decimals (0..9)
//       zz varint  k0, the first integer
//       dod kinds, n > 1:  zz varint  k1 - k0
//       u8         shift: stream integers are multiplied by 2^shift (0..63)
//       packed kinds:      u8 width of every stream integer in bits (0..64)
// Then one bit stream (most significant bit first, last byte zero-padded):
// for Gorilla XOR, sample 0's value first; then samples 1..n-1, each its
// timestamp then its value (scaled kinds keep sample 0's value, and for dod
// kinds sample 1's too, in the header).
//
// Timestamps: delta of delta, dod = (t[i] - t[i-1]) - (t[i-1] - t[i-2]),
// the delta before the first taken as 0 (so the first dod is t[1] - t0); two's complement
// arithmetic mod 2^64, so any int64 times encode. Buckets, tuned for a ms
// clock with a steady interval and a few ms of jitter:
//   0                   '0'
//   [-16, 15]           '10'    + 5 bits
//   [-256, 255]         '110'   + 9 bits
//   [-32768, 32767]     '1110'  + 16 bits
//   [-2^31, 2^31 - 1]   '11110' + 32 bits
//   otherwise           '11111' + 64 bits
//
// Values, one encoding per chunk, chosen by the encoder:
//  * kGorillaXor: x = bits(v[i]) ^ bits(v[i-1]), bits(v[-1]) = 0.
//      x == 0                                  '0'
//      x fits the previous window              '10' + the window's bits
//      otherwise '11' + leading zeros (5 bits, at most 31) + number of
//      meaningful bits (6 bits, 0 meaning 64) + the meaningful bits.
//  * Scaled integers: every value is exactly k / 10^decimals (checked by a
//    bit-exact round trip; never NaN, Inf or -0.0). The stream holds, per
//    sample, e = (k[i] - k[i-1]) for delta kinds (i >= 1) or the delta of
//    delta for dod kinds (i >= 2), all arithmetic mod 2^64, as
//    zigzag(e >> shift), either as a varint (kScaled*Varint) or in `width`
//    bits (kScaled*Packed).
//
// Optional zstd on top of whole chunks (Debian has libzstd-dev) is left for
// later: the ingest layer can measure it on merged chunks.

#include <cstdint>

namespace steward::collector::tsdb {

inline constexpr uint8_t kChunkFormatVersion = 1;
// The most samples one chunk may hold; bounds what a decoder allocates.
inline constexpr int kMaxChunkSamples = 1 << 16;
inline constexpr int kMaxDecimals = 9;

// How a chunk stores its values (the header's second byte).
enum class ValueEncoding : uint8_t {
  kGorillaXor = 0,
  kScaledDeltaVarint = 1,
  kScaledDodVarint = 2,
  kScaledDeltaPacked = 3,
  kScaledDodPacked = 4,
};
inline constexpr uint8_t kMaxValueEncoding = 4;

inline bool IsScaled(ValueEncoding e) { return e != ValueEncoding::kGorillaXor; }
inline bool IsDod(ValueEncoding e) {
  return e == ValueEncoding::kScaledDodVarint || e == ValueEncoding::kScaledDodPacked;
}
inline bool IsPacked(ValueEncoding e) {
  return e == ValueEncoding::kScaledDeltaPacked || e == ValueEncoding::kScaledDodPacked;
}
// "gorilla_xor", "scaled_delta_varint", ... for logs and benchmark output.
const char* ValueEncodingName(ValueEncoding e);

// 10^d for d in [0, kMaxDecimals]; all exact doubles.
inline constexpr double kPow10[kMaxDecimals + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                    1e5, 1e6, 1e7, 1e8, 1e9};

// The one formula both sides use for a scaled value, so they agree bit for bit.
inline double ScaledValue(int64_t k, int decimals) {
  return static_cast<double>(k) / kPow10[decimals];
}

inline uint64_t ZigZag(uint64_t v) {
  return (v << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(v) >> 63);
}
inline uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (~(z & 1) + 1); }

// Timestamp dod buckets: (prefix bits, prefix length, payload bits), in order.
struct DodBucket {
  uint32_t prefix;
  int prefix_bits;
  int payload_bits;
};
inline constexpr DodBucket kDodBuckets[] = {
    {0b10, 2, 5}, {0b110, 3, 9}, {0b1110, 4, 16}, {0b11110, 5, 32}, {0b11111, 5, 64}};

// Sign-extends the low `bits` bits of `v` (bits in [1, 64]).
inline int64_t SignExtend(uint64_t v, int bits) {
  if (bits == 64) return static_cast<int64_t>(v);
  uint64_t sign = uint64_t{1} << (bits - 1);
  v &= (uint64_t{1} << bits) - 1;
  return static_cast<int64_t>((v ^ sign) - sign);
}

}  // namespace steward::collector::tsdb
