#pragma once
// Bit-granular writing and reading for the chunk codec (chunk_format.h).
// Bits are stored most significant first: the first bit written is the top
// bit of the first byte. Varints are LEB128 (7 bits a group, low group
// first), written as whole 8-bit groups at whatever bit position the stream
// is at.

#include <cstddef>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace steward::collector::tsdb {

// Appends bits to a caller-owned std::string, 32 at a time; the rest are
// held back until Finish(), which pads the last byte with zero bits.
// Invariant: fill_ < 32 and only the low fill_ bits of acc_ are meaningful.
// Not thread-safe; `out` must outlive the writer.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Writes the low `count` bits of `value` (count in [0, 64]), top one first.
  void WriteBits(uint64_t value, int count) {
    if (count > 32) {
      WriteBits(value >> 32, count - 32);
      count = 32;
    }
    acc_ = (acc_ << count) | (value & ((uint64_t{1} << count) - 1));
    fill_ += count;
    if (fill_ >= 32) FlushWord();
  }
  void WriteBit(bool bit) { WriteBits(bit ? 1 : 0, 1); }
  void WriteVarint(uint64_t value);
  // Flushes the held-back bits, the last byte padded with zero bits. Call
  // once, at the end.
  void Finish();
  // Bits written so far (including held-back ones).
  size_t bit_count() const { return out_->size() * 8 + static_cast<size_t>(fill_); }

 private:
  // Appends the top 32 of the fill_ (32..63) held-back bits.
  void FlushWord();

  std::string* out_;
  // Held-back bits, the last written lowest; fewer than 32 between writes.
  uint64_t acc_ = 0;
  int fill_ = 0;
};

// Counts the bits a BitWriter would write, without writing them: the
// encoder sizes alternative encodings with the same code that writes them.
// Not thread-safe.
class BitCounter {
 public:
  void WriteBits(uint64_t /*value*/, int count) { bits_ += static_cast<size_t>(count); }
  void WriteBit(bool /*bit*/) { ++bits_; }
  size_t bit_count() const { return bits_; }

 private:
  size_t bits_ = 0;
};

// Reads bits from a byte buffer it does not own. Every read checks the
// remaining length first and returns false, leaving the position unchanged,
// when the input is too short: no read ever goes past the end, whatever the
// bytes. Invariant: pos_ <= 8 * data_.size(). Not thread-safe; the bytes
// must outlive the reader.
//
// Reads of up to 56 bits take one 8-byte load (Window(), inline); longer
// ones go bit group by bit group (ReadBitsSlow).
class BitReader {
 public:
  explicit BitReader(absl::string_view data) : data_(data) {}

  // Reads `count` bits (in [0, 64]) into the low bits of *value.
  bool ReadBits(int count, uint64_t* value) {
    if (static_cast<unsigned>(count) > 56) return ReadBitsSlow(count, value);
    uint64_t word;
    if (count > Window(&word)) return false;
    // (x >> 1) >> (63 - count) is x >> (64 - count), and 0 for count 0.
    *value = (word >> 1) >> (63 - count);
    pos_ += static_cast<size_t>(count);
    return true;
  }
  bool ReadBit(bool* bit) {
    if (pos_ >= data_.size() * 8) return false;
    *bit = (static_cast<uint8_t>(data_[pos_ >> 3]) >> (7 - (pos_ & 7))) & 1;
    ++pos_;
    return true;
  }
  // False on truncation and on a malformed varint (more than 10 groups, or
  // bits beyond the 64th).
  bool ReadVarint(uint64_t* value) {
    uint64_t word;
    const int avail = Window(&word);
    // The first group without the continuation bit ends the varint.
    const uint64_t ends = ~word & 0x8080808080808080u;
    const int groups = ends == 0 ? 9 : std::countl_zero(ends) / 8 + 1;
    if (groups > 7 || groups * 8 > avail) return ReadVarintSlow(value);
    uint64_t v = 0;
    for (int i = 0; i < groups; ++i) v |= ((word >> (56 - 8 * i)) & 0x7f) << (7 * i);
    *value = v;
    pos_ += static_cast<size_t>(groups) * 8;
    return true;
  }

  // The next bits, top-aligned in *word (zeros past the end of the data),
  // without consuming them; returns how many are real: 57 to 64 unless the
  // end is near. Pair with Skip().
  int Window(uint64_t* word) const {
    const size_t byte = pos_ >> 3;
    const size_t left = data_.size() - byte;
    const int offset = static_cast<int>(pos_ & 7);
    uint64_t v = 0;
    if (left >= 8) {
      std::memcpy(&v, data_.data() + byte, 8);
    } else if (left > 0) {
      std::memcpy(&v, data_.data() + byte, left);
    }
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    *word = v << offset;
    return (left >= 8 ? 64 : static_cast<int>(left) * 8) - offset;
  }
  // Consumes `count` bits a Window() showed as real.
  void Skip(int count) { pos_ += static_cast<size_t>(count); }

  size_t bits_remaining() const { return data_.size() * 8 - pos_; }
  size_t bit_position() const { return pos_; }
  absl::string_view data() const { return data_; }

 private:
  bool ReadBitsSlow(int count, uint64_t* value);
  bool ReadVarintSlow(uint64_t* value);

  absl::string_view data_;
  size_t pos_ = 0;
};

// Number of bytes WriteVarint(value) writes (1..10).
int VarintLength(uint64_t value);

}  // namespace steward::collector::tsdb
