#include "agent/health/tcp_check.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/health/net_connect.h"

namespace steward::agent {

void GradeLatency(absl::Duration latency, const std::optional<absl::Duration>& slow,
                  absl::string_view what, CheckOutcome* out) {
  if (slow && latency > *slow) {
    out->status = v1::CheckState::DEGRADED;
    out->reason = absl::StrCat("slow: ", what, " took ", absl::FormatDuration(latency),
                               " (slow above ", absl::FormatDuration(*slow), ")");
  } else {
    out->status = v1::CheckState::OK;
  }
}

std::optional<absl::Duration> SlowParam(const v1::CheckSpec& spec) {
  if (!spec.params().contains("slow")) return std::nullopt;
  return CheckDurationParam(spec, "slow", absl::ZeroDuration());
}

TcpCheck::TcpCheck(std::string check_name, CheckEndpoint endpoint, absl::Duration timeout,
                   std::optional<absl::Duration> slow)
    : check_name_(std::move(check_name)),
      endpoint_(std::move(endpoint)),
      timeout_(timeout),
      slow_(slow) {}

CheckOutcome TcpCheck::Run(absl::Time now) {
  CheckOutcome out;
  // Latency is measured on the real clock whatever `now` says.
  const absl::Time start = absl::Now();
  auto fd = ConnectTcp(endpoint_.host, endpoint_.port, start + timeout_);
  const absl::Duration latency = absl::Now() - start;
  if (!fd.ok()) {
    out.status = v1::CheckState::DOWN;
    out.reason = absl::IsDeadlineExceeded(fd.status())
                     ? absl::StrCat("connect ", JoinHostPort(endpoint_.host, endpoint_.port),
                                    ": timeout after ", absl::FormatDuration(timeout_))
                     : std::string(fd.status().message());
    return out;
  }
  out.metrics.push_back({"app_check_latency_seconds", CheckLabels(check_name_),
                         absl::ToDoubleSeconds(latency), false});
  GradeLatency(latency, slow_, "connect", &out);
  return out;
}

absl::StatusOr<std::unique_ptr<Check>> MakeTcpCheck(const v1::CheckSpec& spec,
                                                    const CheckEnv& env) {
  auto endpoint = ParseCheckAddress(spec.params().at("address"));
  if (!endpoint.ok()) return endpoint.status();
  return std::make_unique<TcpCheck>(spec.name(), *endpoint,
                                    CheckDurationParam(spec, "timeout", kDefaultCheckTimeout),
                                    SlowParam(spec));
}

}  // namespace steward::agent
