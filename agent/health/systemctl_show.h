#pragma once
// `systemctl show UNIT -p ...` for systemd checks: the pure parser of its
// output, and the default runner (CheckEnv::systemctl_show).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/parse_report.h"

namespace steward::agent {

// The unit properties a systemd check reads. Plain value type; a property
// missing from the output (or malformed, with a warning) stays empty.
struct SystemdUnitState {
  std::string load_state;    // "loaded", "not-found", ...
  std::string active_state;  // "active", "activating", "failed", ...
  std::string sub_state;     // "running", "auto-restart", "dead", ...
  std::string result;        // "success", "exit-code", "signal", ...
  std::optional<uint64_t> n_restarts;
  // ExecMainCode is a CLD_* code: 1 exited, 2 killed, 3 dumped core.
  std::optional<int64_t> exec_main_code;
  // Exit status, or the signal number when killed.
  std::optional<int64_t> exec_main_status;
  std::optional<uint64_t> active_enter_monotonic_us;

  friend bool operator==(const SystemdUnitState&, const SystemdUnitState&) = default;
};

// Parses "Key=Value" lines. Unknown properties are ignored; lines without
// '=' and malformed numbers are skipped with a warning naming `origin` and
// the line. Never fails; `report` may be null.
SystemdUnitState ParseSystemctlShow(absl::string_view text, absl::string_view origin,
                                    ParseReport* report);

// The properties RunSystemctlShow asks for.
inline constexpr char kSystemctlShowProperties[] =
    "LoadState,ActiveState,SubState,NRestarts,ExecMainStatus,ExecMainCode,Result,"
    "ActiveEnterTimestampMonotonic";

// Runs `systemctl show -p <kSystemctlShowProperties> -- UNIT` through
// RunSystemctl (agent/exec/systemctl.h: no shell, killed after 5 s, at most
// 64 KiB of output) when /proc/1/comm is "systemd"; FailedPrecondition
// ("systemd is not running") otherwise. Other errors when systemctl is
// missing, exits non-zero or times out. Thread-safe.
absl::StatusOr<std::string> RunSystemctlShow(const std::string& unit);

}  // namespace steward::agent
