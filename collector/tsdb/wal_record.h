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

// The accepted samples of one series in one Append, times strictly
// increasing. A plain value type.
struct WalSeries {
  uint64_t id = 0;
  std::vector<Sample> samples;
};

// Layout: varint series count; per series: id (8 bytes BE), varint sample
// count, then per sample time and value bits (8 bytes BE each).
std::string EncodeWalRecord(const std::vector<WalSeries>& series);
// DataLoss naming `record_id` and the series if the bytes are malformed.
absl::StatusOr<std::vector<WalSeries>> DecodeWalRecord(uint64_t record_id, absl::string_view bytes);

}  // namespace steward::collector::tsdb
