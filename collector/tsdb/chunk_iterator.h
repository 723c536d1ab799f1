#pragma once
// Decoding of chunks (chunk_format.h): lazily with ChunkIterator, or all at
// once with DecodeChunk.

#include <cstdint>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/bit_stream.h"
#include "collector/tsdb/chunk_format.h"
#include "collector/tsdb/sample.h"

namespace steward::collector::tsdb {

// Walks the samples of one chunk in time order, decoding each on Next(), so
// a query that stops early pays only for what it read.
//
// Any bytes are safe input: reads are bounds-checked, the sample count is
// capped by the header check in Open() (at most kMaxChunkSamples and at most
// one sample per remaining bit), and corruption ends the walk with a
// DataLoss status naming the sample ("chunk: truncated in sample 37 of
// 120"). Samples returned before an error were decoded from the bytes but
// may be wrong if the chunk is corrupt. Decoded times are always strictly
// increasing (a violation is reported as corruption). The end is checked
// too: bytes after the last sample or non-zero padding bits are an error.
//
// Not thread-safe; the bytes must outlive the iterator.
class ChunkIterator {
 public:
  // Parses the header; InvalidArgument/DataLoss if it is malformed.
  static absl::StatusOr<ChunkIterator> Open(absl::string_view bytes);

  // Decodes the next sample; false at the end or on an error (see status()).
  bool Next();
  // Appends the samples with times in [start_ms, end_ms] to *out, decoding
  // up to the first sample after end_ms, which stays pending for the next
  // call or Next(): ascending spans, one call each, get their samples from
  // one pass. False once the chunk has no more samples (then check
  // status()); true when it stopped at a sample after end_ms.
  bool AppendSpan(int64_t start_ms, int64_t end_ms, std::vector<Sample>* out);
  // The sample decoded by the last successful Next().
  const Sample& sample() const { return sample_; }
  // OK unless the walk ended on corrupt data.
  const absl::Status& status() const { return status_; }

  int count() const { return count_; }
  ValueEncoding encoding() const { return encoding_; }
  // Scaled encodings only: values are integers / 10^decimals().
  int decimals() const { return decimals_; }

 private:
  explicit ChunkIterator(absl::string_view bytes) : reader_(bytes) {}

  absl::Status ParseHeader(size_t total_bytes);
  // AppendSpan's fast path for packed scaled values (from the first stream
  // element on, width <= 56): a 64-bit bit buffer and the decoding state in
  // locals. True when it stopped at a sample after end_ms (then pending);
  // false when the rest needs Step() (the last bytes, a 64-bit time
  // bucket, corrupt data, the end), with the state where Step() goes on.
  template <bool kDod>
  bool AppendPacked(int64_t start_ms, int64_t end_ms, std::vector<Sample>* out);
  // Decodes the next sample into sample_ (Next() without the pending one).
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Step();
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool ReadTimeDod(uint64_t* dod);
  // Decodes the value of sample next_ into sample_.value, or sets status_.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool ReadValue();
  bool ReadXor();
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool ReadScaled();
  bool Fail(absl::string_view what);
  absl::Status CheckEnd();

  BitReader reader_;
  ValueEncoding encoding_ = ValueEncoding::kGorillaXor;
  int count_ = 0;
  int next_ = 0;  // index of the sample the next Next() decodes
  absl::Status status_;
  Sample sample_;
  bool pending_ = false;  // sample_ was decoded by AppendSpan, not delivered
  int64_t first_time_ = 0;
  uint64_t time_delta_ = 0;
  // Gorilla XOR: the previous value's bits and window (lead < 0: none yet).
  uint64_t xor_prev_ = 0;
  int xor_lead_ = -1;
  int xor_trail_ = 0;
  // Scaled integers: k[i-1] and k[i-1] - k[i-2], mod 2^64.
  int decimals_ = 0;
  int shift_ = 0;
  int width_ = 0;
  uint64_t int_ = 0;
  uint64_t int_delta_ = 0;
};

// Every sample of a chunk, or the first error (see ChunkIterator).
absl::StatusOr<std::vector<Sample>> DecodeChunk(absl::string_view bytes);

}  // namespace steward::collector::tsdb
