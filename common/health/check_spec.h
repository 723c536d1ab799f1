#pragma once
// Application check specifications (v1::CheckSpec): validation shared by the
// agent (checks from its config file, checks pushed by the collector) and the
// collector (PutCheck), plus the agent config syntax for checks:
//
//   check.web.type = http
//   check.web.url = https://127.0.0.1:8443/healthz
//   check.web.slow = 500ms
//
// Parameters per type (see types.proto, CheckSpec):
//   process: exactly one of name | cmdline | pidfile; min_count (default 1);
//            restart_window (default 10m); coredump_comm
//   systemd: unit; restart_window (default 10m); coredump_comm
// coredump_comm names the process whose core dumps (systemd-coredump) count
// as crashes of the check; by default the process name of a process check
// (or the names of the processes it matched) and the unit name without its
// suffix for a systemd check.
//   tcp:     address (HOST:PORT, IPv6 in brackets); timeout (default 3s); slow
//   http:    url; expect_status (default 200); timeout (default 3s); slow;
//            ca_file; insecure (true|false)
//
// All functions are stateless and thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/kv_config.h"
#include "steward/v1/types.pb.h"

namespace steward {

// Longest accepted check name, in bytes.
inline constexpr size_t kMaxCheckNameBytes = 64;
// Default and largest accepted `timeout` of tcp and http checks. The agent
// runs checks one after the other, so the bound keeps a collection pass short.
inline constexpr absl::Duration kDefaultCheckTimeout = absl::Seconds(3);
inline constexpr absl::Duration kMaxCheckTimeout = absl::Seconds(60);
// Default `restart_window` of systemd checks.
inline constexpr absl::Duration kDefaultRestartWindow = absl::Minutes(10);

// Ok when `spec` is a check the agent can run: a name matching
// [a-z0-9_.-]+ of at most kMaxCheckNameBytes, a known type, its required
// params present, no unknown param, and every value well-formed (durations,
// url, address, expect_status 100..599, min_count >= 0). InvalidArgument
// otherwise, naming the check and the param:
//   "check 'web': param 'timeout': invalid duration 'x': ..."
absl::Status ValidateCheckSpec(const v1::CheckSpec& spec);

// A network endpoint: host name or IP literal (IPv6 without brackets) and port.
struct CheckEndpoint {
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const CheckEndpoint&, const CheckEndpoint&) = default;
};

// "HOST:PORT", "[IPv6]:PORT". Port 1..65535. Errors name the input.
absl::StatusOr<CheckEndpoint> ParseCheckAddress(absl::string_view address);

// An http check's url, split.
struct CheckUrl {
  bool tls = false;          // https
  CheckEndpoint endpoint;    // Port defaults to 80 / 443.
  bool default_port = true;  // No port in the url: the Host header omits it.
  std::string target;        // Path and query, "/" when absent; no fragment.

  friend bool operator==(const CheckUrl&, const CheckUrl&) = default;
};

// "http[s]://HOST[:PORT][/PATH[?QUERY]][#FRAGMENT]", HOST a name, IPv4 or
// [IPv6]. No user info; no spaces or control bytes. Errors name the input.
absl::StatusOr<CheckUrl> ParseCheckUrl(absl::string_view url);

// The duration param `param` of `spec`, or `fallback` when absent. Call on a
// validated spec; an invalid value also yields `fallback`.
absl::Duration CheckDurationParam(const v1::CheckSpec& spec, absl::string_view param,
                                  absl::Duration fallback);

// True for agent config keys of the form "check.<name>.<param>" (the name may
// contain dots; the param is what follows the last one).
bool IsCheckKey(absl::string_view key);

// The checks defined in an agent config file by "check.<name>.<param>" keys,
// sorted by name, each validated. Errors start with `origin` and name the
// check: a check without a type, a param given twice, an invalid spec.
absl::StatusOr<std::vector<v1::CheckSpec>> ChecksFromConfig(const KvConfig& cfg,
                                                            absl::string_view origin);

}  // namespace steward
