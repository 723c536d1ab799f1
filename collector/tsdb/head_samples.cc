#include "collector/tsdb/head_samples.h"

#include <cstdlib>
#include <limits>

#include "absl/status/statusor.h"
#include "collector/tsdb/chunk_encoder.h"
#include "collector/tsdb/chunk_iterator.h"
#include "collector/tsdb/tsdb_keys.h"
#include "spdlog/spdlog.h"

namespace steward::collector::tsdb {

void HeadSamples::push_back(const Sample& sample) {
  if (tail_.capacity() == 0) tail_.reserve(kFreezeSamples);
  tail_.push_back(sample);
  if (tail_.size() == kFreezeSamples) Freeze();
}

void HeadSamples::Freeze() {
  // One encoder per thread: Finish() empties it and keeps its buffers.
  thread_local ChunkEncoder encoder;
  for (const Sample& s : tail_) {
    // Times strictly increase (the invariant), at most kFreezeSamples.
    if (!encoder.Append(s.time_ms, s.value).ok()) std::abort();
  }
  if (frozen_count_ == 0) frozen_first_ms_ = tail_.front().time_ms;
  keys::PutLengthPrefixed(encoder.Finish(), &frozen_);
  frozen_count_ += static_cast<uint32_t>(tail_.size());
  tail_.clear();
}

void HeadSamples::AppendTo(std::vector<Sample>* out) const {
  out->reserve(out->size() + size());
  absl::string_view rest = frozen_;
  absl::string_view segment;
  while (keys::GetLengthPrefixed(&rest, &segment)) {
    absl::StatusOr<ChunkIterator> it = ChunkIterator::Open(segment);
    // Segments are this process's own encodings, in memory: the whole
    // range ends each one (AppendSpan false) with an OK status.
    if (it.ok()) {
      it->AppendSpan(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), out);
    }
    if (!it.ok() || !it->status().ok()) {
      spdlog::critical("tsdb: a head segment does not decode");
      std::abort();
    }
  }
  out->insert(out->end(), tail_.begin(), tail_.end());
}

}  // namespace steward::collector::tsdb
