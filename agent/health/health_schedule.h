#pragma once
// When the agent runs its application checks besides its collection cycle.
//
// The cycle runs them every collection interval (10 s by default) and the
// agent reports a state only when it changed, or every 6th cycle to refresh
// the times. A rollout's health gate needs better than that: states newer
// than the job's result at once, and a check that fails during the gate
// seen within a second or two. So the collector can ask (HealthRequest):
// the checks run at once and the report is sent even when nothing changed,
// then for the request's watch time they run every `watch_period` and a
// change is reported as soon as it is seen.
//
// Pure bookkeeping on times the caller passes in (no clock, no thread), so
// it is tested without sleeping. Not thread-safe: the agent guards it with
// its own lock (the session thread records requests, the collection thread
// takes the runs).

#include "absl/time/time.h"

namespace steward::agent {

class HealthSchedule {
 public:
  // What is due at a given moment.
  enum class Run {
    kNone,
    // Asked for by the collector: run and report even when nothing changed.
    kRequested,
    // A watch tick: run and report only a change.
    kWatch,
  };

  // The longest watch a request can ask for; longer ones are cut to it.
  static constexpr absl::Duration kMaxWatch = absl::Hours(1);

  explicit HealthSchedule(absl::Duration watch_period = absl::Seconds(1))
      : watch_period_(watch_period) {}

  // The collector asked at `now` for a report and a watch of `watch` after
  // it (negative counts as zero, more than kMaxWatch as kMaxWatch). A watch
  // under way ends at the later of its end and this one's.
  void Requested(absl::Time now, absl::Duration watch);

  // When the next run outside the cycle is due (InfiniteFuture: none). The
  // collection thread sleeps until the earlier of this and its next cycle.
  absl::Time NextRun() const;

  // What is due at `now`, recorded as done (the next watch tick is one
  // period later). A request pending wins over a watch tick.
  Run Take(absl::Time now);

  // The cycle ran the checks at `now`: a watch tick due soon is not needed
  // (the cycle reported any change).
  void RanInCycle(absl::Time now);

 private:
  const absl::Duration watch_period_;
  bool requested_ = false;
  absl::Time watch_until_ = absl::InfinitePast();
  absl::Time next_watch_ = absl::InfiniteFuture();
};

}  // namespace steward::agent
