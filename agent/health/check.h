#pragma once
// Application checks: one Check per configured v1::CheckSpec, run by the
// HealthRunner each collection interval. Each type lives in its own file
// pair (process_check, systemd_check, tcp_check, http_check) and is created
// through MakeCheck, which holds the one registration list (checks.cc).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/metrics/host_metrics.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {

class CoredumpStore;

// The result of one run of one check. Plain value type.
// `reason` says why the check is DEGRADED or DOWN and is empty when OK.
// `metrics` are the type's own samples, labelled {check=<name>}; the
// HealthRunner adds app_check_up to them.
struct CheckOutcome {
  v1::CheckState::Status status = v1::CheckState::STATUS_UNSPECIFIED;
  std::string reason;
  std::vector<MetricSample> metrics;
};

// Where checks look at the host. Tests point these elsewhere.
struct CheckEnv {
  // procfs mount, for process checks.
  std::string proc_root = "/proc";
  // systemd-coredump's store, shared by all checks (crash signals of
  // process and systemd checks). Null means no core dumps are looked for.
  std::shared_ptr<CoredumpStore> coredumps;
  // `systemctl show UNIT -p ...` output for systemd checks. The default
  // (RunSystemctlShow) runs systemctl when systemd is PID 1 and otherwise
  // fails with FailedPrecondition("systemd is not running"). An empty
  // function also means the default.
  std::function<absl::StatusOr<std::string>(const std::string& unit)> systemctl_show;

  CheckEnv();
};

// One configured check. Run() never fails: every problem is an outcome
// (DOWN with a reason). Run() may block up to the check's timeout.
// Thread safety: a check may keep state between runs (systemd restart
// history); call Run() from one thread at a time.
class Check {
 public:
  virtual ~Check();
  // Runs the check once; `now` stamps the run (restart windows use it).
  virtual CheckOutcome Run(absl::Time now) = 0;
};

// Builds the check for `spec`, which must pass ValidateCheckSpec
// (InvalidArgument otherwise, naming the check).
absl::StatusOr<std::unique_ptr<Check>> MakeCheck(const v1::CheckSpec& spec, const CheckEnv& env);

// The metric labels of a check's samples: {check=<name>}.
std::vector<std::pair<std::string, std::string>> CheckLabels(const std::string& check_name);

}  // namespace steward::agent
