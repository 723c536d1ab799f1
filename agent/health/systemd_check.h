#pragma once
// The "systemd" check: the state of one unit from `systemctl show`.
//   OK        ActiveState=active and no restart within restart_window
//   DEGRADED  activating / reloading / deactivating, NRestarts went up
//             within restart_window (a restart loop: "restarted 3 times in
//             the last 10m"), or the unit's program dumped core within it
//             (systemd-coredump; the program is coredump_comm, by default
//             the unit name without its suffix)
//   DOWN      failed / inactive ("unit failed: result exit-code, status 1"),
//             unit not found, systemctl unusable, or systemd not running
//             ("systemd is not running on this host")
// Metrics {check}: app_unit_restarts_total (counter, NRestarts),
// app_unit_active (1 when active, else 0), app_coredumps_total (counter).

#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "agent/health/check.h"
#include "agent/health/coredumps.h"

namespace steward::agent {

// Keeps the NRestarts values seen within restart_window between runs.
// Thread safety: one Run() at a time (see Check).
class SystemdCheck : public Check {
 public:
  // A null `coredumps` store disables the core dump signal.
  SystemdCheck(std::string check_name, std::string unit, absl::Duration restart_window,
               std::function<absl::StatusOr<std::string>(const std::string&)> systemctl_show,
               std::shared_ptr<CoredumpStore> coredumps = nullptr, std::string coredump_comm = "");
  CheckOutcome Run(absl::Time now) override;

 private:
  // Restarts counted since the oldest observation within the window, after
  // recording (now, n_restarts).
  uint64_t RestartsInWindow(absl::Time now, uint64_t n_restarts);

  std::string check_name_;
  std::string unit_;
  absl::Duration restart_window_;
  std::function<absl::StatusOr<std::string>(const std::string&)> systemctl_show_;
  // (time, NRestarts) in ascending time; none older than the window.
  std::deque<std::pair<absl::Time, uint64_t>> restarts_seen_;
  std::set<std::string> dump_comms_;  // One name.
  CoredumpTracker dumps_;
};

// Registered in checks.cc; `spec` is validated.
absl::StatusOr<std::unique_ptr<Check>> MakeSystemdCheck(const v1::CheckSpec& spec,
                                                        const CheckEnv& env);

}  // namespace steward::agent
