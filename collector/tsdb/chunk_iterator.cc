#include "collector/tsdb/chunk_iterator.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace steward::collector::tsdb {
namespace {

absl::Status HeaderError(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("chunk: header: ", what));
}

}  // namespace

absl::StatusOr<ChunkIterator> ChunkIterator::Open(absl::string_view bytes) {
  ChunkIterator it(bytes);
  RETURN_IF_ERROR(it.ParseHeader(bytes.size()));
  return it;
}

absl::Status ChunkIterator::ParseHeader(size_t total_bytes) {
  uint64_t version, encoding, count, v;
  if (!reader_.ReadBits(8, &version) || !reader_.ReadBits(8, &encoding)) {
    return HeaderError(absl::StrCat("truncated (", total_bytes, " bytes)"));
  }
  if (version != kChunkFormatVersion) {
    return HeaderError(absl::StrCat("unknown format version ", version));
  }
  if (encoding > kMaxValueEncoding) {
    return HeaderError(absl::StrCat("unknown value encoding ", encoding));
  }
  encoding_ = static_cast<ValueEncoding>(encoding);
  if (!reader_.ReadVarint(&count)) return HeaderError("truncated in the sample count");
  if (count > static_cast<uint64_t>(kMaxChunkSamples)) {
    return HeaderError(
        absl::StrCat("claims ", count, " samples, more than the limit of ", kMaxChunkSamples));
  }
  count_ = static_cast<int>(count);
  if (count_ == 0) return absl::OkStatus();
  if (!reader_.ReadVarint(&v)) return HeaderError("truncated in the first timestamp");
  first_time_ = static_cast<int64_t>(UnZigZag(v));
  if (IsScaled(encoding_)) {
    if (!reader_.ReadBits(8, &v)) return HeaderError("truncated in the decimals");
    if (v > kMaxDecimals) return HeaderError(absl::StrCat("decimals ", v, " > ", kMaxDecimals));
    decimals_ = static_cast<int>(v);
    if (!reader_.ReadVarint(&v)) return HeaderError("truncated in the first value");
    int_ = UnZigZag(v);
    if (IsDod(encoding_) && count_ > 1) {
      if (!reader_.ReadVarint(&v)) return HeaderError("truncated in the first value delta");
      int_delta_ = UnZigZag(v);
    }
    if (!reader_.ReadBits(8, &v)) return HeaderError("truncated in the shift");
    if (v > 63) return HeaderError(absl::StrCat("shift ", v, " > 63"));
    shift_ = static_cast<int>(v);
    if (IsPacked(encoding_)) {
      if (!reader_.ReadBits(8, &v)) return HeaderError("truncated in the width");
      if (v > 64) return HeaderError(absl::StrCat("width ", v, " > 64"));
      width_ = static_cast<int>(v);
    }
  }
  // Every sample after the first takes at least one bit (its timestamp).
  if (static_cast<uint64_t>(count_ - 1) > reader_.bits_remaining()) {
    return HeaderError(absl::StrCat("claims ", count_, " samples but only ",
                                    reader_.bits_remaining() / 8, " bytes follow"));
  }
  return absl::OkStatus();
}

bool ChunkIterator::Fail(absl::string_view what) {
  status_ =
      absl::DataLossError(absl::StrCat("chunk: ", what, " in sample ", next_ + 1, " of ", count_));
  next_ = count_ + 1;
  return false;
}

inline bool ChunkIterator::Step() {
  if (next_ >= count_) {
    if (next_ == count_) {
      status_ = CheckEnd();
      ++next_;
    }
    return false;
  }
  if (next_ == 0) {
    sample_.time_ms = first_time_;
  } else {
    uint64_t dod;
    if (!ReadTimeDod(&dod)) return Fail("truncated");
    time_delta_ += dod;
    int64_t t = static_cast<int64_t>(static_cast<uint64_t>(sample_.time_ms) + time_delta_);
    if (t <= sample_.time_ms) return Fail("time does not increase");
    sample_.time_ms = t;
  }
  if (!ReadValue()) return false;
  ++next_;
  return true;
}

bool ChunkIterator::Next() {
  if (pending_) {
    pending_ = false;
    return true;
  }
  return Step();
}

namespace {

inline uint64_t LoadBigEndian64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

}  // namespace

template <bool kDod>
bool ChunkIterator::AppendPacked(int64_t start_ms, int64_t end_ms, std::vector<Sample>* out) {
  constexpr int kBuckets = sizeof(kDodBuckets) / sizeof(kDodBuckets[0]);
  const absl::string_view data = reader_.data();
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t size = data.size();
  const size_t first_bit = reader_.bit_position();
  // `buf` holds the stream's next `have` bits, top-aligned (and maybe a
  // few more real bits after them); `byte` is the next byte to load.
  size_t byte = first_bit >> 3;
  if (byte + 8 > size) return false;
  uint64_t buf = LoadBigEndian64(p + byte) << (first_bit & 7);
  int have = 64 - static_cast<int>(first_bit & 7);
  byte += 8;
  auto refill = [&]() {  // to 56..63 bits; false near the end of the data
    if (byte + 8 > size) return false;
    buf |= LoadBigEndian64(p + byte) >> have;
    const int take = (63 - have) >> 3;
    byte += static_cast<size_t>(take);
    have += take * 8;
    return true;
  };
  const int width = width_;
  const int shift = shift_;
  const double scale = kPow10[decimals_];
  int64_t t = sample_.time_ms;
  double v = sample_.value;
  uint64_t time_delta = time_delta_, k = int_, k_delta = int_delta_;
  int next = next_;
  bool stopped = false;
  while (next < count_) {
    if (have < 56 && !refill()) break;
    const uint64_t buf0 = buf;
    const int have0 = have;
    const size_t byte0 = byte;
    // Time: '0', or one '1' per bucket, '0' (not after the last) and the
    // payload; the 64-bit bucket is left to Step().
    uint64_t dod = 0;
    const int ones = std::countl_one(buf);
    int used = 1;
    if (ones > 0) {
      const int bucket = std::min(ones, kBuckets) - 1;
      if (bucket == kBuckets - 1) break;
      const DodBucket& b = kDodBuckets[bucket];
      dod = static_cast<uint64_t>(
          SignExtend((buf << b.prefix_bits) >> (64 - b.payload_bits), b.payload_bits));
      used = b.prefix_bits + b.payload_bits;
    }
    buf <<= used;
    have -= used;
    if (have < width && !refill()) {
      buf = buf0;
      have = have0;
      byte = byte0;
      break;
    }
    const uint64_t z = (buf >> 1) >> (63 - width);  // width 0: 0
    buf <<= width;  // width <= 56
    have -= width;
    const uint64_t new_delta = time_delta + dod;
    const auto nt = static_cast<int64_t>(static_cast<uint64_t>(t) + new_delta);
    if (nt <= t) {  // corrupt: Step() says so
      buf = buf0;
      have = have0;
      byte = byte0;
      break;
    }
    time_delta = new_delta;
    t = nt;
    const uint64_t element = UnZigZag(z) << shift;
    k_delta = kDod ? k_delta + element : element;
    k += k_delta;
    v = static_cast<double>(static_cast<int64_t>(k)) / scale;  // ScaledValue
    ++next;
    if (t > end_ms) {
      stopped = true;
      break;
    }
    if (t >= start_ms) out->push_back(Sample{t, v});
  }
  reader_.Skip(static_cast<int>(byte * 8 - static_cast<size_t>(have) - first_bit));
  sample_.time_ms = t;
  sample_.value = v;
  time_delta_ = time_delta;
  int_ = k;
  int_delta_ = k_delta;
  next_ = next;
  pending_ = stopped;
  return stopped;
}

bool ChunkIterator::AppendSpan(int64_t start_ms, int64_t end_ms, std::vector<Sample>* out) {
  if (pending_) {
    if (sample_.time_ms > end_ms) return true;
    pending_ = false;
    if (sample_.time_ms >= start_ms) out->push_back(sample_);
  }
  const bool packed = IsPacked(encoding_) && width_ <= 56;
  const bool dod = IsDod(encoding_);
  while (true) {
    // Packed values go the fast way from their first stream element on;
    // the rest (and what it leaves) one Step() at a time.
    if (packed && next_ >= (dod ? 2 : 1) &&
        (dod ? AppendPacked<true>(start_ms, end_ms, out) : AppendPacked<false>(start_ms, end_ms, out))) {
      return true;
    }
    if (!Step()) return false;
    // Field by field: a 16-byte copy of sample_ right after its two 8-byte
    // stores stalls on store forwarding (measured: most of the loop's time).
    const int64_t t = sample_.time_ms;
    const double v = sample_.value;
    if (t > end_ms) {
      pending_ = true;
      return true;
    }
    if (t >= start_ms) out->push_back(Sample{t, v});
  }
}

inline bool ChunkIterator::ReadTimeDod(uint64_t* dod) {
  constexpr int kBuckets = sizeof(kDodBuckets) / sizeof(kDodBuckets[0]);
  uint64_t w;
  const int avail = reader_.Window(&w);
  if (avail >= 1) {
    // '0', or one '1' per bucket then '0' (none after the last bucket's).
    const int ones = std::countl_one(w);
    if (ones == 0) {
      reader_.Skip(1);
      *dod = 0;
      return true;
    }
    const DodBucket& b = kDodBuckets[std::min(ones, kBuckets) - 1];
    if (b.prefix_bits + b.payload_bits <= avail) {
      *dod = static_cast<uint64_t>(
          SignExtend((w << b.prefix_bits) >> (64 - b.payload_bits), b.payload_bits));
      reader_.Skip(b.prefix_bits + b.payload_bits);
      return true;
    }
  }
  bool bit;
  if (!reader_.ReadBit(&bit)) return false;
  if (!bit) {
    *dod = 0;
    return true;
  }
  int bucket = 0;
  while (bucket < kBuckets - 1) {
    if (!reader_.ReadBit(&bit)) return false;
    if (!bit) break;
    ++bucket;
  }
  int bits = kDodBuckets[bucket].payload_bits;
  uint64_t payload;
  if (!reader_.ReadBits(bits, &payload)) return false;
  *dod = static_cast<uint64_t>(SignExtend(payload, bits));
  return true;
}

inline bool ChunkIterator::ReadValue() {
  if (IsScaled(encoding_)) return ReadScaled();
  return ReadXor();
}

bool ChunkIterator::ReadXor() {
  bool bit;
  if (!reader_.ReadBit(&bit)) return Fail("truncated");
  if (bit) {
    if (!reader_.ReadBit(&bit)) return Fail("truncated");
    if (bit) {
      uint64_t lead, meaningful;
      if (!reader_.ReadBits(5, &lead) || !reader_.ReadBits(6, &meaningful)) {
        return Fail("truncated");
      }
      if (meaningful == 0) meaningful = 64;
      if (lead + meaningful > 64) return Fail("XOR window past 64 bits");
      xor_lead_ = static_cast<int>(lead);
      xor_trail_ = static_cast<int>(64 - lead - meaningful);
    } else if (xor_lead_ < 0) {
      return Fail("XOR window reused before any was set");
    }
    uint64_t x;
    if (!reader_.ReadBits(64 - xor_lead_ - xor_trail_, &x)) return Fail("truncated");
    xor_prev_ ^= x << xor_trail_;
  }
  sample_.value = std::bit_cast<double>(xor_prev_);
  return true;
}

inline bool ChunkIterator::ReadScaled() {
  // Stream elements start at sample 1 (delta kinds) or 2 (dod kinds).
  if (next_ > 0 && !(IsDod(encoding_) && next_ == 1)) {
    uint64_t z;
    if (IsPacked(encoding_)) {
      if (!reader_.ReadBits(width_, &z)) return Fail("truncated");
    } else if (!reader_.ReadVarint(&z)) {
      return Fail(reader_.bits_remaining() < 8 ? "truncated" : "truncated or malformed varint");
    }
    uint64_t element = UnZigZag(z) << shift_;
    if (IsDod(encoding_)) {
      int_delta_ += element;
    } else {
      int_delta_ = element;
    }
  }
  if (next_ > 0) int_ += int_delta_;
  sample_.value = ScaledValue(static_cast<int64_t>(int_), decimals_);
  return true;
}

absl::Status ChunkIterator::CheckEnd() {
  size_t left = reader_.bits_remaining();
  if (left >= 8) {
    return absl::DataLossError(
        absl::StrCat("chunk: ", left / 8, " bytes after the last of ", count_, " samples"));
  }
  uint64_t padding;
  if (!reader_.ReadBits(static_cast<int>(left), &padding) || padding != 0) {
    return absl::DataLossError("chunk: padding bits after the last sample are not zero");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Sample>> DecodeChunk(absl::string_view bytes) {
  ASSIGN_OR_RETURN(ChunkIterator it, ChunkIterator::Open(bytes));
  std::vector<Sample> samples;
  samples.reserve(static_cast<size_t>(it.count()));
  while (it.Next()) samples.push_back(it.sample());
  RETURN_IF_ERROR(it.status());
  return samples;
}

}  // namespace steward::collector::tsdb
