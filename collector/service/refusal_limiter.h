#pragma once
// How many refused AdminService calls go to the audit trail one by one.
// Every refusal of a caller with a verified certificate is recorded, but a
// caller that keeps being refused (a stolen agent certificate calling the
// admin service in a loop) must not turn the trail into a synced write per
// call: token buckets per caller (burst kCallerBurst, then one a second)
// and for all callers together (burst kTotalBurst, then kTotalPerSecond a
// second). A refusal over the limit is counted against its caller instead,
// and the count travels with that caller's next recorded refusal
// (AuditRecord.unrecorded_refusals), so nothing disappears without a trace.
//
// Time is passed in (the collector's injectable clock). At most
// kMaxCallers are tracked one by one; further callers share one bucket
// (their counts are then reported on whichever of them is recorded next).
// Not thread-safe: AdminGate guards it with a mutex.

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace steward::collector {

class RefusalLimiter {
 public:
  static constexpr double kCallerBurst = 20;
  static constexpr double kCallerPerSecond = 1;
  static constexpr double kTotalBurst = 200;
  static constexpr double kTotalPerSecond = 20;
  static constexpr size_t kMaxCallers = 10000;

  // True when this refusal of `who` is to be recorded; then
  // *unrecorded_before is the number of its refusals left out since its
  // last recorded one. False (counted) otherwise.
  bool Admit(const std::string& who, absl::Time now, uint64_t* unrecorded_before);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled = absl::InfinitePast();
    uint64_t unrecorded = 0;
  };
  // Refills `b` (to `burst` at most) for the time since it was last refilled.
  static void Refill(Bucket& b, double burst, double per_second, absl::Time now);

  Bucket total_;
  absl::flat_hash_map<std::string, Bucket> callers_;
};

}  // namespace steward::collector
