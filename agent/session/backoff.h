#pragma once
// Exponential backoff with jitter for reconnects: the n-th delay is drawn
// uniformly from [d/2, d] with d = min(max, initial * 2^n), so a fleet that
// lost its collector does not reconnect in lock-step. Not thread-safe.

#include <algorithm>
#include <random>

#include "absl/time/time.h"

namespace steward::agent {

class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max, uint64_t seed)
      : initial_(initial), max_(max), rng_(seed) {}

  absl::Duration Next() { return NextWithin(max_); }
  // The same, with the delay capped lower for this attempt (the attempt
  // still counts).
  absl::Duration NextWithin(absl::Duration cap) {
    const absl::Duration max = std::min(max_, cap);
    absl::Duration d = initial_;
    for (int i = 0; i < attempt_ && d < max; ++i) d *= 2;
    if (d > max) d = max;
    ++attempt_;
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return d * jitter(rng_);
  }
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  absl::Duration initial_, max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

// A collector that answered RESOURCE_EXHAUSTED (its disk nearly full, its
// connection limits reached) wants the data later, not never: however long
// that lasts, reconnects stay within this, so delivery resumes soon after it
// recovers instead of up to the full backoff later.
inline constexpr absl::Duration kBusyCollectorRetryCap = absl::Seconds(30);

}  // namespace steward::agent
