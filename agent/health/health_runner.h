#pragma once
// Runs the host's application checks and turns their outcomes into a
// HealthReport and metric samples, once per collection interval.

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/health/check.h"
#include "agent/metrics/host_metrics.h"
#include "steward/v1/agent.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {

// What one RunAll produced. Plain value type.
struct RunResult {
  // One state per active check, sorted by name.
  v1::HealthReport report;
  // The checks' samples plus app_check_up{check} (1 OK/DEGRADED, 0 DOWN).
  std::vector<MetricSample> metrics;
};

// The set of active checks: the agent config's (origin "config") and the
// collector's (origin "collector"); a config check wins over a pushed one
// of the same name. Keeps each check's last status and since when it has
// had it (since_ms); a check whose spec and origin stay the same across
// SetChecks keeps its state and its Check object (systemd restart history).
//
// Thread safety: SetChecks and last_errors may be called from any thread at
// any time (the session thread receives pushed checks); they never wait for
// a running check. RunAll runs the checks sequentially on the caller's
// thread (bounded by the sum of the checks' timeouts) and is serialized with
// itself. A SetChecks during a RunAll takes effect at the next RunAll.
class HealthRunner {
 public:
  explicit HealthRunner(CheckEnv env);
  ~HealthRunner();

  // Replaces the active checks. Every config check must be valid with a
  // unique name (InvalidArgument otherwise, and nothing changes). Pushed
  // checks that are invalid, duplicated or shadowed by a config check are
  // skipped, each with a message in last_errors().
  absl::Status SetChecks(std::vector<v1::CheckSpec> config_checks,
                         std::vector<v1::CheckSpec> pushed_checks);

  // Runs every active check once; `now` stamps time_ms and since_ms.
  RunResult RunAll(absl::Time now);

  // Why pushed checks were skipped by the last SetChecks.
  std::vector<std::string> last_errors() const;

 private:
  struct Slot;

  const CheckEnv env_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);  // Sorted by name.
  std::vector<std::string> last_errors_ ABSL_GUARDED_BY(mu_);
  // Serializes RunAll; guards the run state inside the slots.
  absl::Mutex run_mu_ ABSL_ACQUIRED_BEFORE(mu_);
};

}  // namespace steward::agent
