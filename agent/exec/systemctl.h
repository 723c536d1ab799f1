#pragma once
// Running systemctl: the shared runner behind the systemd checks
// (`systemctl show`) and the services inventory (`systemctl list-units`).

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/exec/tool_runner.h"
#include "absl/time/time.h"

namespace steward::agent {

// How to run systemctl. Plain value type.
struct SystemctlOptions {
  // The program to run. Empty: "systemctl" looked up in the fixed tool PATH
  // (/usr/sbin:/usr/bin:/sbin:/bin), and only when systemd is PID 1. A path
  // set here is run whatever PID 1 is (a wrapper that reaches the host's
  // systemd from a container, or a test script).
  std::string program;
  // procfs mount, for the PID 1 test.
  std::string proc_root = "/proc";
  absl::Duration timeout = absl::Seconds(5);
  // Larger output fails (ResourceExhausted) rather than being cut.
  size_t max_output = 4 << 20;
};

// True when `proc_root`/1/comm says "systemd".
bool SystemdIsPid1(const std::string& proc_root = "/proc");

// Runs systemctl with `args` (no shell; see RunTool) and returns its stdout.
// FailedPrecondition("systemd is not running") when no program is configured
// and systemd is not PID 1; NotFound when systemctl is not installed; the
// RunTool errors otherwise (non-zero exit, timeout, too much output).
// Thread-safe.
absl::StatusOr<std::string> RunSystemctl(const std::vector<std::string>& args,
                                         const SystemctlOptions& options = {});

}  // namespace steward::agent
