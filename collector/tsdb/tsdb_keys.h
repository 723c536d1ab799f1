#pragma once
// Key and value layouts of TsdbStore's column families, and the byte coding
// they share. Every multi-byte integer in a key is big-endian so RocksDB's
// bytewise order is numeric order; signed times have their sign bit flipped
// first so negative times sort before positive ones.
//
//   tsdb_series    'k' SeriesKey(metric, labels)      -> series id (8 bytes BE)
//                  'i' id (8 BE)                      -> SeriesRecord
//   tsdb_postings  'm' lp(metric) id (8 BE)           -> ""
//                  'l' lp(name) lp(value) id (8 BE)   -> ""
//   tsdb_chunks    id (8 BE) start (8, flipped BE)    -> ChunkValue: end (8,
//                  flipped BE) + the chunk (chunk_format.h)
//   tsdb_wal       record id (8 BE)                   -> WalRecord (wal_record.h)
//   tsdb_rollups   id (8 BE) resolution ms (8 BE) last bucket start (8, flipped BE)
//                  first start (8, flipped BE) -> rollup record (rollup.h):
//                  a block's (its last and first bucket starts; Merge
//                  operands), or before 2026-12-08 a chunk's (the last
//                  bucket's start and the chunk's start; Put)
//
// lp(s) is s's length as a varint, then s: no separator byte is reserved,
// and distinct (name, value) pairs never encode to the same bytes.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/tsdb/series_source.h"

namespace steward::collector::tsdb::keys {

inline constexpr char kSeriesKeyTag = 'k';
inline constexpr char kSeriesRecordTag = 'i';
inline constexpr char kMetricPostingTag = 'm';
inline constexpr char kLabelPostingTag = 'l';
// Bytes of a series id, the prefix of every chunk and rollup key.
inline constexpr size_t kIdBytes = 8;

// Byte coding shared by keys and values.
void PutFixed64BE(uint64_t v, std::string* out);
uint64_t DecodeFixed64BE(const char* p);
// Order-preserving encoding of a signed time: sign bit flipped, big-endian.
void PutTime(int64_t t, std::string* out);
int64_t DecodeTime(const char* p);
void PutVarint(uint64_t v, std::string* out);
void PutLengthPrefixed(absl::string_view s, std::string* out);
// Readers advance `in`; false on truncation or a malformed varint.
bool GetVarint(absl::string_view* in, uint64_t* v);
bool GetLengthPrefixed(absl::string_view* in, absl::string_view* s);
bool GetFixed64BE(absl::string_view* in, uint64_t* v);

// The canonical key of a series: `labels` must be sorted by name, names
// unique (CanonicalLabels makes them so).
std::string SeriesKey(absl::string_view metric, const Labels& labels);
// The same into *out (replacing its content; saves an allocation per call).
void SeriesKeyTo(absl::string_view metric,
                 const std::vector<std::pair<absl::string_view, absl::string_view>>& labels,
                 std::string* out);
std::string SeriesRecordKey(uint64_t id);
// Sorts `labels` by name; InvalidArgument naming the label if a name occurs
// twice or is empty.
absl::Status CanonicalLabels(Labels* labels);
absl::Status CanonicalLabels(std::vector<std::pair<absl::string_view, absl::string_view>>* labels);

// The stored series record (metric, labels, counter flag; the id is the key).
std::string EncodeSeriesRecord(const SeriesRef& ref);
absl::StatusOr<SeriesRef> DecodeSeriesRecord(uint64_t id, absl::string_view bytes);

std::string MetricPostingPrefix(absl::string_view metric);
std::string LabelPostingPrefix(absl::string_view name, absl::string_view value);
// A posting key is its prefix followed by the id.
std::string PostingKey(absl::string_view prefix, uint64_t id);
// The metric of a metric posting key ('m' lp(metric) id); false if `key`
// is not one.
bool ParseMetricPostingKey(absl::string_view key, absl::string_view* metric);
// The smallest key above every key that starts with `prefix` (Seek there to
// skip them all); "" when there is none (`prefix` is all 0xff bytes).
std::string PrefixSuccessor(absl::string_view prefix);

std::string IdPrefix(uint64_t id);
std::string ChunkKey(uint64_t id, int64_t start_ms);
// Decodes a chunk key; false if it is not 16 bytes.
bool ParseChunkKey(absl::string_view key, uint64_t* id, int64_t* start_ms);
std::string ChunkValue(int64_t end_ms, absl::string_view chunk);
// Splits a chunk value into its end time and the chunk bytes.
bool ParseChunkValue(absl::string_view value, int64_t* end_ms, absl::string_view* chunk);

std::string WalKey(uint64_t record_id);

// A rollup record's key (rollup.h): id, resolution, the start of the
// record's last bucket, then its first start (a block's first bucket; for
// records written per chunk, the chunk's first sample time, which keeps
// records of chunks ending in one bucket apart).
std::string RollupRecordKey(uint64_t id, int64_t resolution_ms, int64_t last_bucket_start_ms,
                            int64_t first_ms);
// The first 24 bytes of a record key: where records whose last bucket
// starts at or after `time_ms` begin. Also the whole key of a bucket
// written before rollup records (one key per bucket).
std::string RollupKey(uint64_t id, int64_t resolution_ms, int64_t time_ms);
// Either kind: *time_ms is the (last) bucket start; *record tells a
// 32-byte record key from a 24-byte single-bucket key.
bool ParseRollupKey(absl::string_view key, uint64_t* id, int64_t* resolution_ms, int64_t* time_ms,
                    bool* record = nullptr);

}  // namespace steward::collector::tsdb::keys
