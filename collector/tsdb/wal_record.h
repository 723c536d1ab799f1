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

// Layout: varint run count; per run: series id (8 bytes BE), varint sample
// count, then per sample time and value bits (8 bytes BE each).
void EncodeWalRecord(const WalRecord& record, std::string* out);
// DataLoss naming `record_id` and the run if the bytes are malformed.
absl::Status DecodeWalRecord(uint64_t record_id, absl::string_view bytes, WalRecord* out);

}  // namespace steward::collector::tsdb
