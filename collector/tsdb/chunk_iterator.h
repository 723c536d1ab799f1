#pragma once
// Decoding of chunks (chunk_format.h): lazily with ChunkIterator, or all at
// once with DecodeChunk.

#include <cstdint>
#include <vector>

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
  bool ReadTimeDod(uint64_t* dod);
  // Decodes the value of sample next_ into sample_.value, or sets status_.
  bool ReadValue();
  bool ReadXor();
  bool ReadScaled();
  bool Fail(absl::string_view what);
  absl::Status CheckEnd();

  BitReader reader_;
  ValueEncoding encoding_ = ValueEncoding::kGorillaXor;
  int count_ = 0;
  int next_ = 0;  // index of the sample the next Next() decodes
  absl::Status status_;
  Sample sample_;
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
