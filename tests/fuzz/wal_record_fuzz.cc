// A TSDB WAL record (wal_record.h) from fuzzed bytes: no crash; what
// decodes has runs inside the samples, and encoding it again decodes to the
// same ids, times and value bits.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collector/tsdb/wal_record.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using steward::collector::tsdb::WalRecord;
  WalRecord got;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!steward::collector::tsdb::DecodeWalRecord(1, bytes, &got).ok()) return 0;
  size_t next = 0;
  for (const WalRecord::Run& run : got.runs) {
    Check(run.begin == next);
    next += run.count;
  }
  Check(next == got.samples.size());
  std::string again;
  steward::collector::tsdb::EncodeWalRecord(got, &again);
  WalRecord round;
  Check(steward::collector::tsdb::DecodeWalRecord(2, again, &round).ok());
  Check(round.runs.size() == got.runs.size() && round.samples.size() == got.samples.size());
  for (size_t i = 0; i < got.runs.size(); ++i) {
    Check(round.runs[i].id == got.runs[i].id && round.runs[i].count == got.runs[i].count);
  }
  for (size_t i = 0; i < got.samples.size(); ++i) {
    Check(round.samples[i].time_ms == got.samples[i].time_ms);
    Check(std::bit_cast<uint64_t>(round.samples[i].value) == std::bit_cast<uint64_t>(got.samples[i].value));
  }
  return 0;
}
