#pragma once
// Bit-granular writing and reading for the chunk codec (chunk_format.h).
// Bits are stored most significant first: the first bit written is the top
// bit of the first byte. Varints are LEB128 (7 bits a group, low group
// first), written as whole 8-bit groups at whatever bit position the stream
// is at.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace steward::collector::tsdb {

// Appends bits to a caller-owned std::string. Bits of the last, partly
// filled byte are held back until Finish(), which pads it with zero bits.
// Invariant: fill_ < 8 and only the low fill_ bits of cur_ are meaningful.
// Not thread-safe; `out` must outlive the writer.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Writes the low `count` bits of `value` (count in [0, 64]), top one first.
  void WriteBits(uint64_t value, int count);
  void WriteBit(bool bit) { WriteBits(bit ? 1 : 0, 1); }
  void WriteVarint(uint64_t value);
  // Flushes the partial byte, padded with zero bits. Call once, at the end.
  void Finish();
  // Bits written so far (including held-back ones).
  size_t bit_count() const { return out_->size() * 8 + static_cast<size_t>(fill_); }

 private:
  std::string* out_;
  uint8_t cur_ = 0;
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
class BitReader {
 public:
  explicit BitReader(absl::string_view data) : data_(data) {}

  // Reads `count` bits (in [0, 64]) into the low bits of *value.
  bool ReadBits(int count, uint64_t* value);
  bool ReadBit(bool* bit);
  // False on truncation and on a malformed varint (more than 10 groups, or
  // bits beyond the 64th).
  bool ReadVarint(uint64_t* value);

  size_t bits_remaining() const { return data_.size() * 8 - pos_; }
  size_t bit_position() const { return pos_; }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

// Number of bytes WriteVarint(value) writes (1..10).
int VarintLength(uint64_t value);

}  // namespace steward::collector::tsdb
