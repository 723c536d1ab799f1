#include "agent/health/health_schedule.h"

#include <algorithm>

namespace steward::agent {

void HealthSchedule::Requested(absl::Time now, absl::Duration watch) {
  requested_ = true;
  // Two gates on one host (two deployments) each keep their watch.
  watch_until_ = std::max(watch_until_, now + std::clamp(watch, absl::ZeroDuration(), kMaxWatch));
}

absl::Time HealthSchedule::NextRun() const {
  if (requested_) return absl::InfinitePast();
  return next_watch_ <= watch_until_ ? next_watch_ : absl::InfiniteFuture();
}

HealthSchedule::Run HealthSchedule::Take(absl::Time now) {
  if (requested_) {
    requested_ = false;
    if (watch_until_ > now) next_watch_ = now + watch_period_;
    return Run::kRequested;
  }
  if (now < NextRun()) return Run::kNone;
  next_watch_ = now + watch_period_;
  return Run::kWatch;
}

void HealthSchedule::RanInCycle(absl::Time now) {
  if (next_watch_ != absl::InfiniteFuture())
    next_watch_ = std::max(next_watch_, now + watch_period_);
}

}  // namespace steward::agent
