#pragma once
// How often an agent sends its health report, and when the collector stops
// trusting the last one: the two sides' halves of one rule.
//
// The agent runs its checks every collection interval and sends a report
// when a state changed, when the collector asks, and at least every
// kHealthRefreshCycles intervals (to refresh the times); it announces that
// longest gap in Hello (health_report_interval_ms). The collector marks a
// host's check results stale when the host is not connected, or when its
// latest report is older than kStaleAfterReportIntervals of those gaps
// (kDefaultHealthReportInterval for an agent that did not announce one).

#include "absl/time/time.h"

namespace steward {

inline constexpr int kHealthRefreshCycles = 6;
// kHealthRefreshCycles times the agent's default collection interval (10 s).
inline constexpr absl::Duration kDefaultHealthReportInterval = absl::Seconds(60);
inline constexpr int kStaleAfterReportIntervals = 3;

}  // namespace steward
