#pragma once
// The "tcp" check: connects to address (HOST:PORT) within timeout (default
// 3s) and closes. DOWN with "connect HOST:PORT: <strerror>" or "timeout
// after 3s"; DEGRADED when the connect took longer than slow.
// Metrics {check}: app_check_latency_seconds (when connected).

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "agent/health/check.h"
#include "common/health/check_spec.h"

namespace steward::agent {

// Stateless between runs. Thread safety: one Run() at a time (see Check).
class TcpCheck : public Check {
 public:
  TcpCheck(std::string check_name, CheckEndpoint endpoint, absl::Duration timeout,
           std::optional<absl::Duration> slow);
  CheckOutcome Run(absl::Time now) override;

 private:
  std::string check_name_;
  CheckEndpoint endpoint_;
  absl::Duration timeout_;
  std::optional<absl::Duration> slow_;
};

// Registered in checks.cc; `spec` is validated.
absl::StatusOr<std::unique_ptr<Check>> MakeTcpCheck(const v1::CheckSpec& spec, const CheckEnv& env);

// Shared by tcp and http: DEGRADED "slow: <what> took 12.3ms (slow above
// 10ms)" when `latency` > `slow`, else OK.
void GradeLatency(absl::Duration latency, const std::optional<absl::Duration>& slow,
                  absl::string_view what, CheckOutcome* out);

// The optional "slow" duration param of a validated spec.
std::optional<absl::Duration> SlowParam(const v1::CheckSpec& spec);

}  // namespace steward::agent
