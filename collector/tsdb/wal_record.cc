#include "collector/tsdb/wal_record.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "collector/tsdb/tsdb_keys.h"

namespace steward::collector::tsdb {

std::string EncodeWalRecord(const std::vector<WalSeries>& series) {
  std::string out;
  keys::PutVarint(series.size(), &out);
  for (const WalSeries& s : series) {
    keys::PutFixed64BE(s.id, &out);
    keys::PutVarint(s.samples.size(), &out);
    for (const Sample& sample : s.samples) {
      keys::PutFixed64BE(static_cast<uint64_t>(sample.time_ms), &out);
      keys::PutFixed64BE(std::bit_cast<uint64_t>(sample.value), &out);
    }
  }
  return out;
}

absl::StatusOr<std::vector<WalSeries>> DecodeWalRecord(uint64_t record_id,
                                                       absl::string_view bytes) {
  auto corrupt = [record_id](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("tsdb WAL record ", record_id, ": ", what));
  };
  absl::string_view in = bytes;
  uint64_t count = 0;
  // Each series takes at least 9 bytes, which bounds what a bad count allocates.
  if (!keys::GetVarint(&in, &count) || count > in.size() / 9) return corrupt("bad series count");
  std::vector<WalSeries> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t n = 0;
    if (!keys::GetFixed64BE(&in, &out[i].id) || !keys::GetVarint(&in, &n) || n > in.size() / 16) {
      return corrupt(absl::StrCat("series ", i, " is truncated"));
    }
    out[i].samples.resize(n);
    for (Sample& sample : out[i].samples) {
      uint64_t t = 0, v = 0;
      keys::GetFixed64BE(&in, &t);
      keys::GetFixed64BE(&in, &v);
      sample.time_ms = static_cast<int64_t>(t);
      sample.value = std::bit_cast<double>(v);
    }
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return out;
}

}  // namespace steward::collector::tsdb
