#pragma once
// The "http" check: GET url over HTTP/1.1 (Host, User-Agent steward-agent,
// Connection: close), TLS for https (SNI, verification against ca_file or
// the system store with a host name check, none with insecure=true). Reads
// the response head only, at most 64 KiB, all within timeout (default 3s).
//   OK        status == expect_status (default 200)
//   DEGRADED  status as expected but slower than slow
//   DOWN      "HTTP 503 (expected 200)", connect/TLS error, timeout,
//             malformed or missing response
// Metrics {check}: app_check_latency_seconds (until the head was read),
// app_http_status (when a response came).

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "agent/health/check.h"
#include "agent/health/http_response.h"
#include "common/health/check_spec.h"

namespace steward::agent {

// Largest response head the check reads.
inline constexpr size_t kMaxHttpResponseHead = 64 * 1024;

// Stateless between runs. Thread safety: one Run() at a time (see Check).
class HttpCheck : public Check {
 public:
  struct Options {
    CheckUrl url;
    int expect_status = 200;
    absl::Duration timeout = kDefaultCheckTimeout;
    std::optional<absl::Duration> slow;
    std::string ca_file;
    bool insecure = false;
  };

  HttpCheck(std::string check_name, Options options);
  CheckOutcome Run(absl::Time now) override;

 private:
  // Connects, sends the request and reads the head before `deadline`; the
  // error message is the DOWN reason.
  absl::StatusOr<HttpResponseHead> Fetch(absl::Time deadline);

  std::string check_name_;
  Options options_;
  std::string request_;  // Built once.
};

// Registered in checks.cc; `spec` is validated.
absl::StatusOr<std::unique_ptr<Check>> MakeHttpCheck(const v1::CheckSpec& spec,
                                                     const CheckEnv& env);

}  // namespace steward::agent
