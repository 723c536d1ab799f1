#pragma once
// ChunkEncoder: builds one chunk (chunk_format.h) from the samples of one
// series.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "collector/tsdb/bit_stream.h"
#include "collector/tsdb/chunk_format.h"

namespace steward::collector::tsdb {

// Which value encodings the encoder may choose from.
enum class ValuePolicy {
  kSmallest,     // Gorilla XOR or the smallest scaled-integer encoding
  kGorillaOnly,  // always Gorilla XOR (for comparisons and tests)
};

// Collects up to kMaxChunkSamples samples with strictly increasing times and
// encodes them on Finish(), choosing the value encoding then (it needs all
// values: scaled integers apply only if every value qualifies).
//
// Out-of-order and duplicate times are refused with InvalidArgument rather
// than sorted or merged here: the ingest layer sorts and dedupes a batch
// (and decides which of two samples at one time wins) before appending.
//
// Invariant: times_ is strictly increasing; ts_bits_ and xor_bits_ are the exact
// sizes of the timestamp and Gorilla XOR bits of the samples so far.
// Not thread-safe.
class ChunkEncoder {
 public:
  explicit ChunkEncoder(ValuePolicy policy = ValuePolicy::kSmallest) : policy_(policy) {}

  // InvalidArgument if `time_ms` is not after the last sample's time;
  // FailedPrecondition if the chunk already holds kMaxChunkSamples.
  absl::Status Append(int64_t time_ms, double value);

  // The encoded chunk; the encoder is then empty and can be reused. With no
  // samples, a valid chunk of zero samples.
  std::string Finish();

  // Bytes Finish() would return now at most (exact when Gorilla XOR wins).
  // O(1): lets the caller cut chunks by size.
  size_t size_estimate() const;
  int count() const { return static_cast<int>(times_.size()); }

 private:
  // Gorilla XOR coder state: the previous value's bits and the window of
  // the last '11' record (lead < 0: no window yet).
  struct XorState {
    uint64_t prev = 0;
    int lead = -1;
    int trail = 0;
  };
  // A chosen scaled-integer layout for the current values.
  struct ScaledPlan {
    ValueEncoding encoding = ValueEncoding::kGorillaXor;
    int decimals = 0;
    int shift = 0;
    int width = 0;
    size_t bits = 0;  // value bits, header fields included
  };

  template <typename Out>
  static void PutTimestamp(uint64_t dod, Out& out);
  template <typename Out>
  static void PutXor(XorState& state, uint64_t bits, Out& out);

  // The smallest scaled-integer plan, or a plan with kGorillaXor if the
  // values do not all qualify. Fills ints_ for the chosen decimals.
  ScaledPlan PlanScaled();
  void PlanIntegers(bool dod, int decimals, ScaledPlan* best);
  void WriteChunk(const ScaledPlan& plan, std::string* out);
  void Reset();

  ValuePolicy policy_;
  std::vector<int64_t> times_;
  std::vector<double> values_;
  std::vector<int64_t> ints_;  // scratch: the scaled integers, in Finish()
  uint64_t last_delta_ = 0;
  XorState xor_;
  BitCounter ts_bits_;   // timestamp bits of samples 1..n-1
  BitCounter xor_bits_;  // Gorilla XOR value bits of all samples
};

}  // namespace steward::collector::tsdb
