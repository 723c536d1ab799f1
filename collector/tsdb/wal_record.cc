#include "collector/tsdb/wal_record.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "collector/tsdb/tsdb_keys.h"

namespace steward::collector::tsdb {

namespace {
char* PutBE(uint64_t v, char* p) {
  for (int shift = 56; shift >= 0; shift -= 8) *p++ = static_cast<char>(v >> shift);
  return p;
}
uint64_t GetBE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
}  // namespace

void EncodeWalRecord(const WalRecord& record, std::string* out) {
  out->clear();
  out->reserve(10 + record.runs.size() * 18 + record.samples.size() * 16);
  keys::PutVarint(record.runs.size(), out);
  char buf[16];
  for (const WalRecord::Run& run : record.runs) {
    out->append(buf, PutBE(run.id, buf));
    keys::PutVarint(run.count, out);
    const size_t at = out->size();
    out->resize(at + size_t{run.count} * 16);
    char* p = out->data() + at;
    for (uint32_t i = 0; i < run.count; ++i) {
      const Sample& sample = record.samples[run.begin + i];
      p = PutBE(static_cast<uint64_t>(sample.time_ms), p);
      p = PutBE(std::bit_cast<uint64_t>(sample.value), p);
    }
  }
}

absl::Status DecodeWalRecord(uint64_t record_id, absl::string_view bytes, WalRecord* out) {
  auto corrupt = [record_id](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("tsdb WAL record ", record_id, ": ", what));
  };
  out->clear();
  absl::string_view in = bytes;
  uint64_t count = 0;
  // Each run takes at least 9 bytes, which bounds what a bad count allocates.
  if (!keys::GetVarint(&in, &count) || count > in.size() / 9) return corrupt("bad series count");
  out->runs.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    WalRecord::Run run;
    uint64_t n = 0;
    if (!keys::GetFixed64BE(&in, &run.id) || !keys::GetVarint(&in, &n) || n > in.size() / 16) {
      return corrupt(absl::StrCat("series ", i, " is truncated"));
    }
    run.begin = static_cast<uint32_t>(out->samples.size());
    run.count = static_cast<uint32_t>(n);
    for (uint64_t j = 0; j < n; ++j) {
      out->samples.push_back(Sample{static_cast<int64_t>(GetBE(in.data())),
                                    std::bit_cast<double>(GetBE(in.data() + 8))});
      in.remove_prefix(16);
    }
    out->runs.push_back(run);
  }
  if (!in.empty()) return corrupt("trailing bytes");
  return absl::OkStatus();
}

}  // namespace steward::collector::tsdb
