// A TSDB rollup record (rollup.h) from fuzzed bytes: no crash; what decodes
// has well-formed buckets (starts strictly increasing, count >= 1,
// last_ms in its bucket's span from the start on), and encoding it again
// decodes to the same bits (a sum near a decimal: to that decimal).
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/tsdb/rollup.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using steward::collector::tsdb::RollupBucket;
  std::vector<RollupBucket> got;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!steward::collector::tsdb::DecodeRollupRecord(bytes, &got)) return 0;
  Check(!got.empty());
  for (size_t i = 0; i < got.size(); ++i) {
    Check(got[i].count >= 1);
    Check(got[i].last_ms >= got[i].start_ms);
    if (i > 0) Check(got[i].start_ms > got[i - 1].start_ms);
  }
  std::vector<RollupBucket> again;
  Check(steward::collector::tsdb::DecodeRollupRecord(steward::collector::tsdb::EncodeRollupRecord(got), &again));
  Check(again.size() == got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    Check(again[i].start_ms == got[i].start_ms && again[i].count == got[i].count &&
          again[i].last_ms == got[i].last_ms);
    for (auto field : {&RollupBucket::min, &RollupBucket::max, &RollupBucket::last}) {
      Check(std::bit_cast<uint64_t>(again[i].*field) == std::bit_cast<uint64_t>(got[i].*field));
    }
    // A sum within 2^-40 of a decimal may come back as that decimal.
    Check(std::bit_cast<uint64_t>(again[i].sum) == std::bit_cast<uint64_t>(got[i].sum) ||
          std::fabs(again[i].sum - got[i].sum) <= std::fabs(got[i].sum) * 0x1p-39);
  }
  return 0;
}
