#include "collector/tsdb/bit_stream.h"

#include <algorithm>
#include <bit>

namespace steward::collector::tsdb {

void BitWriter::FlushWord() {
  fill_ -= 32;
  const uint32_t word = static_cast<uint32_t>(acc_ >> fill_);
  const char bytes[4] = {static_cast<char>(word >> 24), static_cast<char>(word >> 16),
                         static_cast<char>(word >> 8), static_cast<char>(word)};
  out_->append(bytes, 4);
  acc_ &= (uint64_t{1} << fill_) - 1;
}

void BitWriter::WriteVarint(uint64_t value) {
  while (value >= 0x80) {
    WriteBits((value & 0x7f) | 0x80, 8);
    value >>= 7;
  }
  WriteBits(value, 8);
}

void BitWriter::Finish() {
  while (fill_ >= 8) {
    fill_ -= 8;
    out_->push_back(static_cast<char>(acc_ >> fill_));
  }
  if (fill_ > 0) out_->push_back(static_cast<char>(acc_ << (8 - fill_)));
  acc_ = 0;
  fill_ = 0;
}

bool BitReader::ReadBitsSlow(int count, uint64_t* value) {
  if (count < 0 || count > 64 || static_cast<size_t>(count) > bits_remaining()) return false;
  uint64_t v = 0;
  while (count > 0) {
    int offset = static_cast<int>(pos_ & 7);
    int avail = 8 - offset;
    int take = std::min(avail, count);
    uint8_t byte = static_cast<uint8_t>(data_[pos_ >> 3]);
    uint64_t part = (byte >> (avail - take)) & ((1u << take) - 1);
    v = (v << take) | part;
    pos_ += static_cast<size_t>(take);
    count -= take;
  }
  *value = v;
  return true;
}

bool BitReader::ReadVarintSlow(uint64_t* value) {
  size_t start = pos_;
  uint64_t result = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint64_t group;
    if (!ReadBits(8, &group)) break;
    uint64_t payload = group & 0x7f;
    // The 10th group may only carry the 64th bit.
    if (shift == 63 && payload > 1) break;
    result |= payload << shift;
    if ((group & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  pos_ = start;
  return false;
}

int VarintLength(uint64_t value) {
  return (std::bit_width(value | 1) + 6) / 7;  // 7 bits a group, at least one
}

}  // namespace steward::collector::tsdb
