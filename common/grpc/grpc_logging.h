#pragma once
// gRPC's own log lines (gpr_log: "E1206 12:00:00.123 ... ssl_transport_security.cc:1495]
// Handshake failed ...") go to stderr by default, bypassing the binary's
// logging, its level and its format. RouteGrpcLogsToSpdlog sends them to
// spdlog's default logger instead. Debian 12's gRPC (1.51) logs through
// gpr_log; the hook is gpr_set_log_function (absl logging came later).

#include "spdlog/common.h"

namespace steward {

// From now on, gRPC's ERROR lines are logged at `errors_at` ("grpc FILE:LINE:
// MESSAGE"), its INFO lines at debug and its DEBUG lines at trace, on
// spdlog's default logger. gRPC is told to format only what the logger's
// current level lets through (unless GRPC_VERBOSITY is set). Call once,
// early in main, after the logger is set up and before any channel or
// server exists. Lines logged while the process exits (after main
// returned) are dropped: the logger may be gone by then.
//
// The daemons log gRPC's errors at warn (a failed handshake of a
// misconfigured agent is worth a line); stewardctl at debug, so they never
// reach the terminal at the default level: the command reports the failure
// in its own words.
void RouteGrpcLogsToSpdlog(spdlog::level::level_enum errors_at);

}  // namespace steward
