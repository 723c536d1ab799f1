#include "collector/service/refusal_limiter.h"

#include <algorithm>

namespace steward::collector {
namespace {
// The shared bucket of callers past kMaxCallers (not a valid CN).
constexpr char kOverflowCaller[] = "";
}  // namespace

void RefusalLimiter::Refill(Bucket& b, double burst, double per_second, absl::Time now) {
  if (b.refilled == absl::InfinitePast()) {
    b.tokens = burst;
  } else if (now > b.refilled) {
    b.tokens = std::min(burst, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * per_second);
  }
  b.refilled = std::max(b.refilled, now);
}

bool RefusalLimiter::Admit(const std::string& who, absl::Time now, uint64_t* unrecorded_before) {
  auto it = callers_.find(who);
  if (it == callers_.end()) {
    it = callers_.size() < kMaxCallers ? callers_.try_emplace(who).first : callers_.try_emplace(kOverflowCaller).first;
  }
  Bucket& caller = it->second;
  Refill(caller, kCallerBurst, kCallerPerSecond, now);
  Refill(total_, kTotalBurst, kTotalPerSecond, now);
  if (caller.tokens < 1 || total_.tokens < 1) {
    ++caller.unrecorded;
    return false;
  }
  caller.tokens -= 1;
  total_.tokens -= 1;
  *unrecorded_before = caller.unrecorded;
  caller.unrecorded = 0;
  return true;
}

}  // namespace steward::collector
