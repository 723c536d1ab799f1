#pragma once
// HeadSamples: the samples of one series' head (TsdbStore), kept compact.
// The newest (at most kFreezeSamples) are raw; each time that many have
// come, they are encoded with ChunkEncoder into a segment (a chunk,
// chunk_format.h) appended to one byte string. About 2 bytes a sample
// instead of 16 (plus the vector's spare capacity), so a head of 120
// samples costs ~0.3 kB, not ~2 kB: at 700,000 series (10,000 agents) that
// is the difference between 0.2 and 1.3 GB.
//
// Segments are decoded when the head is read or its chunk encoded (a few
// ns a sample); the chunk written to disk is still encoded from all
// samples at once, so the on-disk format does not change.
//
// Invariant: times strictly increase across segments and the raw tail;
// size() == frozen_count_ + tail_.size(). Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/tsdb/sample.h"

namespace steward::collector::tsdb {

class HeadSamples {
 public:
  // Raw samples before a segment is encoded.
  static constexpr size_t kFreezeSamples = 16;

  bool empty() const { return size() == 0; }
  size_t size() const { return frozen_count_ + tail_.size(); }
  // The first sample's time (size() > 0).
  int64_t front_time_ms() const { return frozen_count_ > 0 ? frozen_first_ms_ : tail_.front().time_ms; }

  // Appends a sample later than every one held.
  void push_back(const Sample& sample);
  // Appends every sample, in order, to *out.
  void AppendTo(std::vector<Sample>* out) const;
  // Bytes held (capacity, not size); 0 when empty, whatever the string's
  // inline capacity.
  size_t bytes() const {
    return (frozen_.empty() ? 0 : frozen_.capacity()) + tail_.capacity() * sizeof(Sample);
  }

 private:
  // Encodes tail_ into a segment of frozen_ and empties it.
  void Freeze();

  // Segments: varint length, then the chunk.
  std::string frozen_;
  uint32_t frozen_count_ = 0;
  int64_t frozen_first_ms_ = 0;
  std::vector<Sample> tail_;
};

}  // namespace steward::collector::tsdb
