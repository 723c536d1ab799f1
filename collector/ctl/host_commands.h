#pragma once
// stewardctl's agent identity commands: `hosts disable|enable|rm|renew
// HOST`, `hosts label set HOST KEY=VALUE...`, `hosts label rm HOST KEY...`,
// `token list`, `token revoke ID`. HOST is an agent id or a unique prefix of
// at least 4 characters of one. Tables for people, --json for scripts.

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

struct HostOptions {
  // Positional words after the command (HOST, then labels or keys).
  std::vector<std::string> args;
  // hosts rm: confirmed on the command line (scripts).
  bool yes = false;
  // hosts renew: lifetime of the renewal token ("1d"); empty: the
  // collector's default (1 day).
  std::string ttl;
  bool json = false;
  absl::Duration timeout = absl::Seconds(30);
  // Asks the person at the terminal a yes/no question; null when there is
  // no terminal (then hosts rm needs --yes).
  std::function<bool(const std::string& question)> confirm;
};

// The agent id that `text` names: an exact id, or the one id it is a prefix
// of (4 characters at least). NotFound / InvalidArgument say which hosts
// exist or match.
absl::StatusOr<std::string> ResolveHost(v1::AdminService::Stub& stub, const std::string& text,
                                        absl::Duration timeout);

absl::Status HostSetDisabled(v1::AdminService::Stub& stub, const HostOptions& o, bool disabled, std::ostream& out);
absl::Status HostRemove(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out);
absl::Status HostRenew(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out);
absl::Status HostLabelSet(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out);
absl::Status HostLabelRm(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out);
absl::Status TokenList(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out);
absl::Status TokenRevoke(v1::AdminService::Stub& stub, const HostOptions& o, std::ostream& out);

}  // namespace steward::ctl
