#include "collector/tsdb/chunk_encoder.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace steward::collector::tsdb {
namespace {

// Sets *k and returns true if v is exactly k / 10^decimals (bit for bit;
// false for NaN, infinities, -0.0 and values whose k overflows an int64).
bool ScalesTo(double v, int decimals, int64_t* k) {
  double x = v * kPow10[decimals];
  // The comparison is false for NaN; 9.2e18 < 2^63 keeps the cast defined.
  if (!(x > -9.2e18 && x < 9.2e18)) return false;
  // The nearest integer (inline, unlike llround); the exact check below
  // decides, so how a tie rounds cannot matter.
  int64_t r = static_cast<int64_t>(x < 0 ? x - 0.5 : x + 0.5);
  if (std::bit_cast<uint64_t>(ScaledValue(r, decimals)) != std::bit_cast<uint64_t>(v)) {
    return false;
  }
  *k = r;
  return true;
}

// The stream element of sample i for a delta or dod layout, mod 2^64.
uint64_t IntElement(const std::vector<int64_t>& k, size_t i, bool dod) {
  uint64_t delta = static_cast<uint64_t>(k[i]) - static_cast<uint64_t>(k[i - 1]);
  if (!dod) return delta;
  return delta - (static_cast<uint64_t>(k[i - 1]) - static_cast<uint64_t>(k[i - 2]));
}

}  // namespace

template <typename Out>
void ChunkEncoder::PutTimestamp(uint64_t dod, Out& out) {
  int64_t s = static_cast<int64_t>(dod);
  if (s == 0) {
    out.WriteBit(false);
    return;
  }
  for (const DodBucket& b : kDodBuckets) {
    if (b.payload_bits < 64) {
      int64_t limit = int64_t{1} << (b.payload_bits - 1);
      if (s < -limit || s >= limit) continue;
    }
    out.WriteBits(b.prefix, b.prefix_bits);
    out.WriteBits(dod, b.payload_bits);
    return;
  }
}

template <typename Out>
void ChunkEncoder::PutXor(XorState& state, uint64_t bits, Out& out) {
  uint64_t x = bits ^ state.prev;
  state.prev = bits;
  if (x == 0) {
    out.WriteBit(false);
    return;
  }
  int lead = std::min(std::countl_zero(x), 31);
  int trail = std::countr_zero(x);
  if (state.lead >= 0 && lead >= state.lead && trail >= state.trail) {
    out.WriteBits(0b10, 2);
    out.WriteBits(x >> state.trail, 64 - state.lead - state.trail);
    return;
  }
  int meaningful = 64 - lead - trail;
  out.WriteBits(0b11, 2);
  out.WriteBits(static_cast<uint64_t>(lead), 5);
  out.WriteBits(static_cast<uint64_t>(meaningful & 63), 6);  // 64 is written as 0
  out.WriteBits(x >> trail, meaningful);
  state.lead = lead;
  state.trail = trail;
}

absl::Status ChunkEncoder::Append(int64_t time_ms, double value) {
  if (count() >= kMaxChunkSamples) {
    return absl::FailedPreconditionError(
        absl::StrCat("chunk: full at ", kMaxChunkSamples, " samples"));
  }
  if (!times_.empty()) {
    if (time_ms <= times_.back()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chunk: time ", time_ms, " ms is not after the last sample's ", times_.back(), " ms"));
    }
    uint64_t delta = static_cast<uint64_t>(time_ms) - static_cast<uint64_t>(times_.back());
    PutTimestamp(delta - last_delta_, ts_bits_);
    last_delta_ = delta;
  }
  PutXor(xor_, std::bit_cast<uint64_t>(value), xor_bits_);
  times_.push_back(time_ms);
  values_.push_back(value);
  return absl::OkStatus();
}

size_t ChunkEncoder::size_estimate() const {
  size_t header = 2 + static_cast<size_t>(VarintLength(times_.size()));
  if (!times_.empty()) {
    header += static_cast<size_t>(VarintLength(ZigZag(static_cast<uint64_t>(times_[0]))));
  }
  return header + (ts_bits_.bit_count() + xor_bits_.bit_count() + 7) / 8;
}

ChunkEncoder::ScaledPlan ChunkEncoder::PlanScaled() {
  ScaledPlan best;  // kGorillaXor: no scaled plan
  int decimals = 0;
  int64_t k;
  // Decimals only grow, so this makes at most n + kMaxDecimals attempts.
  for (double v : values_) {
    while (!ScalesTo(v, decimals, &k)) {
      if (++decimals > kMaxDecimals) return best;
    }
  }
  // A value that fit fewer decimals is checked again with the final count.
  ints_.resize(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    if (!ScalesTo(values_[i], decimals, &ints_[i])) return best;
  }
  best.bits = std::numeric_limits<size_t>::max();
  PlanIntegers(/*dod=*/false, decimals, &best);
  PlanIntegers(/*dod=*/true, decimals, &best);
  return best;
}

void ChunkEncoder::PlanIntegers(bool dod, int decimals, ScaledPlan* best) {
  const size_t n = ints_.size();
  const size_t first = dod ? 2 : 1;
  size_t header_bits =
      8 * (2 + static_cast<size_t>(VarintLength(ZigZag(static_cast<uint64_t>(ints_[0])))));
  if (dod && n > 1)
    header_bits += 8 * static_cast<size_t>(VarintLength(ZigZag(IntElement(ints_, 1, false))));
  uint64_t all = 0;
  for (size_t i = first; i < n; ++i) all |= IntElement(ints_, i, dod);
  int shift = all == 0 ? 0 : std::countr_zero(all);
  size_t varint_bits = 0;
  uint64_t max_z = 0;
  for (size_t i = first; i < n; ++i) {
    uint64_t z =
        ZigZag(static_cast<uint64_t>(static_cast<int64_t>(IntElement(ints_, i, dod)) >> shift));
    varint_bits += 8 * static_cast<size_t>(VarintLength(z));
    max_z = std::max(max_z, z);
  }
  int width = std::bit_width(max_z);
  size_t packed_bits = 8 + (n > first ? n - first : 0) * static_cast<size_t>(width);
  auto consider = [&](ValueEncoding encoding, size_t bits) {
    if (bits >= best->bits) return;
    *best = ScaledPlan{encoding, decimals, shift, width, bits};
  };
  consider(dod ? ValueEncoding::kScaledDodVarint : ValueEncoding::kScaledDeltaVarint,
           header_bits + varint_bits);
  consider(dod ? ValueEncoding::kScaledDodPacked : ValueEncoding::kScaledDeltaPacked,
           header_bits + packed_bits);
}

std::string ChunkEncoder::Finish() {
  ScaledPlan plan;
  plan.bits = xor_bits_.bit_count();
  if (policy_ == ValuePolicy::kSmallest && !times_.empty()) {
    ScaledPlan scaled = PlanScaled();
    if (IsScaled(scaled.encoding) && scaled.bits < plan.bits) plan = scaled;
  }
  std::string out;
  out.reserve(size_estimate());
  WriteChunk(plan, &out);
  Reset();
  return out;
}

void ChunkEncoder::WriteChunk(const ScaledPlan& plan, std::string* out) {
  const size_t n = times_.size();
  const ValueEncoding enc = plan.encoding;
  BitWriter w(out);
  w.WriteBits(kChunkFormatVersion, 8);
  w.WriteBits(static_cast<uint8_t>(enc), 8);
  w.WriteVarint(n);
  if (n == 0) {
    w.Finish();
    return;
  }
  w.WriteVarint(ZigZag(static_cast<uint64_t>(times_[0])));
  XorState xor_state;
  uint64_t int_delta = 0;  // scaled: k[i-1] - k[i-2]
  if (IsScaled(enc)) {
    w.WriteBits(static_cast<uint64_t>(plan.decimals), 8);
    w.WriteVarint(ZigZag(static_cast<uint64_t>(ints_[0])));
    if (n > 1) int_delta = IntElement(ints_, 1, false);
    if (IsDod(enc) && n > 1) w.WriteVarint(ZigZag(int_delta));
    w.WriteBits(static_cast<uint64_t>(plan.shift), 8);
    if (IsPacked(enc)) w.WriteBits(static_cast<uint64_t>(plan.width), 8);
  } else {
    PutXor(xor_state, std::bit_cast<uint64_t>(values_[0]), w);
  }
  uint64_t time_delta = 0;
  for (size_t i = 1; i < n; ++i) {
    uint64_t delta = static_cast<uint64_t>(times_[i]) - static_cast<uint64_t>(times_[i - 1]);
    PutTimestamp(delta - time_delta, w);
    time_delta = delta;
    if (!IsScaled(enc)) {
      PutXor(xor_state, std::bit_cast<uint64_t>(values_[i]), w);
      continue;
    }
    if (IsDod(enc) && i == 1) continue;  // k1 - k0 is in the header
    uint64_t z = ZigZag(static_cast<uint64_t>(
        static_cast<int64_t>(IntElement(ints_, i, IsDod(enc))) >> plan.shift));
    if (IsPacked(enc)) {
      w.WriteBits(z, plan.width);
    } else {
      w.WriteVarint(z);
    }
  }
  w.Finish();
}

void ChunkEncoder::Reset() {
  times_.clear();
  values_.clear();
  last_delta_ = 0;
  xor_ = XorState();
  ts_bits_ = BitCounter();
  xor_bits_ = BitCounter();
}

}  // namespace steward::collector::tsdb
