#pragma once
// How a person names a host on stewardctl's command line: the full agent
// id, a unique prefix of it (4 characters at least), or a unique hostname
// (case-insensitive, as DNS names are). Ambiguity is an error listing the
// candidates, never a guess.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

inline constexpr size_t kMinHostIdPrefix = 4;

// The agent id `ref` names among `hosts`. NotFound when nothing matches;
// InvalidArgument when several hosts match (listing "id (hostname)") or a
// prefix is shorter than kMinHostIdPrefix.
absl::StatusOr<std::string> ResolveHostRef(const v1::ListHostsResponse& hosts, const std::string& ref);

// ResolveHostRef against the collector's hosts (one ListHosts call).
absl::StatusOr<std::string> ResolveHost(v1::AdminService::Stub& stub, const std::string& ref,
                                        absl::Duration timeout);

}  // namespace steward::ctl
