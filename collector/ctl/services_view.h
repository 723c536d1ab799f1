#pragma once
// How `stewardctl services` shows a ListServices answer: a table for people
// (HOST UNIT LOAD ACTIVE SUB DESCRIPTION, with notes on hosts that list
// nothing) or a JSON array for scripts. Kept apart from commands.cc so the
// command file stays one screen per command.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "steward/v1/admin.pb.h"

namespace steward::ctl {

// OK when `state` is empty or one of systemd's active states ("active",
// "failed", ...); InvalidArgument listing them otherwise.
absl::Status CheckActiveStateFilter(const std::string& state);

// Writes `resp` to `out`: JSON when `json`, else a table.
void PrintServices(const v1::ListServicesResponse& resp, bool json, std::ostream& out);

}  // namespace steward::ctl
