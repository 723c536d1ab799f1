#include "collector/tsdb/bit_stream.h"

#include <algorithm>

namespace steward::collector::tsdb {

void BitWriter::WriteBits(uint64_t value, int count) {
  if (count < 64) value &= (uint64_t{1} << count) - 1;
  while (count > 0) {
    int take = std::min(8 - fill_, count);
    uint64_t part = (value >> (count - take)) & ((uint64_t{1} << take) - 1);
    cur_ = static_cast<uint8_t>((cur_ << take) | part);
    fill_ += take;
    count -= take;
    if (fill_ == 8) {
      out_->push_back(static_cast<char>(cur_));
      cur_ = 0;
      fill_ = 0;
    }
  }
}

void BitWriter::WriteVarint(uint64_t value) {
  while (value >= 0x80) {
    WriteBits((value & 0x7f) | 0x80, 8);
    value >>= 7;
  }
  WriteBits(value, 8);
}

void BitWriter::Finish() {
  if (fill_ > 0) {
    out_->push_back(static_cast<char>(cur_ << (8 - fill_)));
    cur_ = 0;
    fill_ = 0;
  }
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
  int n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

}  // namespace steward::collector::tsdb
