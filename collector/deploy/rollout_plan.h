#pragma once
// The parts of a rollout's spec people type: wave sizes and maintenance
// windows. Both parsers refuse malformed text with the position and what
// was expected, and never crash (fuzzed by tests/fuzz/rollout_plan_fuzz).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward::collector {

// One wave size as written: "5" (hosts) or "10%" (of the target, at least
// one host). Sizes are cumulative: "1,10%,100%" is one canary host, then up
// to 10% of the target, then the rest.
struct WaveSize {
  uint32_t count = 0;      // hosts, when !percent
  double percent = 0;      // (0, 100], when percent
  bool percent_form = false;
};

// "1,10%,50%,100%" or the same as separate items. At most 20 waves; each
// larger than the one before; a trailing wave short of 100% gets 100% added
// (every host of the target is in some wave).
absl::StatusOr<std::vector<WaveSize>> ParseWaves(const std::vector<std::string>& items);

// Hosts per wave (not cumulative) for a target of `hosts` hosts. Waves
// that would be empty (a small target) are dropped; the sum is `hosts`.
std::vector<uint32_t> PlanWaves(uint32_t hosts, const std::vector<WaveSize>& waves);

// Maintenance windows in UTC: "Sat 01:00-05:00", "Mon-Fri 22:00-02:00",
// "Sat,Sun 00:00-24:00", "01:00-05:00" (every day), several separated by
// ';'. A window that ends before it starts crosses midnight and belongs to
// the day it starts. Empty text means always open.
class MaintenanceWindows {
 public:
  static absl::StatusOr<MaintenanceWindows> Parse(absl::string_view text);
  bool Contains(absl::Time t) const;
  // The next time at or after `t` it is open (t itself when open); for
  // messages ("waiting for the window, opens 2026-12-05 01:00 UTC").
  absl::Time NextOpen(absl::Time t) const;
  bool always() const { return spans_.empty(); }

 private:
  struct Span {
    uint8_t days = 0;  // bit d: weekday d (0 = Monday)
    int start_min = 0;
    int end_min = 0;   // may be <= start_min: crosses midnight
  };
  std::vector<Span> spans_;
};

}  // namespace steward::collector
