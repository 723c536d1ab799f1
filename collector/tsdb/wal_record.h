#pragma once
// The records of TsdbStore's WAL column family (tsdb_wal): one per Append,
// holding the samples that Append accepted, by series id. Ids are resolved
// before the record is written, in the same WriteBatch as any new series'
// index entries, so a replayed record never needs the labels again.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/sample.h"

namespace steward::collector::tsdb {

// The samples one Append accepted: runs of samples by series id, in the
// order Append took them (a series may have more than one run; within a
// series, times strictly increase across its runs).
struct WalRecord {
  struct Run {
    uint64_t id = 0;
    uint32_t begin = 0;  // into samples
    uint32_t count = 0;
  };
  std::vector<Run> runs;
  std::vector<Sample> samples;

  void clear() {
    runs.clear();
    samples.clear();
  }
};

// Layout (version 2): a 0x00 byte, a 0x02 byte, zigzag varint base time
// (the first sample's), varint run count; per run: varint series id, varint
// sample count, then per sample the zigzag varint difference (wrapping) of
// its time from the previous sample's in the record (the base for the
// first) and the value's 8 bytes (little-endian bits). About 11 bytes a
// sample where a batch holds one sample per series.
// Records of version 1 (before: varint run count, which is never 0, then
// per run id 8 bytes BE, varint count, time and value bits 8 bytes BE
// each) are still read.
void EncodeWalRecord(const WalRecord& record, std::string* out);
// DataLoss naming `record_id` and the run if the bytes are malformed.
absl::Status DecodeWalRecord(uint64_t record_id, absl::string_view bytes, WalRecord* out);

}  // namespace steward::collector::tsdb
