#include "collector/ctl/host_ref.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/grpc/status_convert.h"
#include "common/status_macros.h"

namespace steward::ctl {

absl::StatusOr<std::string> ResolveHostRef(const v1::ListHostsResponse& hosts, const std::string& ref) {
  if (ref.empty()) {
    return absl::InvalidArgumentError("the host is empty: give an agent id, a prefix of one or a hostname "
                                      "('stewardctl hosts' lists them)");
  }
  std::vector<const v1::Host*> matches;
  bool short_prefix = false;
  for (const v1::Host& h : hosts.hosts()) {
    if (h.agent_id() == ref) return ref;
    const bool by_name = absl::EqualsIgnoreCase(h.facts().hostname(), ref);
    const bool by_prefix = absl::StartsWith(h.agent_id(), ref);
    if (by_prefix && ref.size() < kMinHostIdPrefix && !by_name) {
      short_prefix = true;
      continue;
    }
    if (by_name || by_prefix) matches.push_back(&h);
  }
  if (matches.size() == 1) return matches[0]->agent_id();
  if (matches.size() > 1) {
    std::vector<std::string> names;
    for (const v1::Host* h : matches) {
      names.push_back(absl::StrCat(h->agent_id(), " (", h->facts().hostname().empty() ? "?" : h->facts().hostname(),
                                   ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat("'", ref, "' matches ", matches.size(), " hosts: ",
                                                   absl::StrJoin(names, ", "),
                                                   "; give more of the agent id, or all of it"));
  }
  if (short_prefix) {
    return absl::InvalidArgumentError(absl::StrCat("'", ref, "' is too short: give at least ", kMinHostIdPrefix,
                                                   " characters of the agent id, all of it, or the hostname"));
  }
  return absl::NotFoundError(absl::StrCat("no host '", ref,
                                          "' (by agent id, 4+ character id prefix or hostname); "
                                          "'stewardctl hosts' lists them"));
}

absl::StatusOr<std::string> ResolveHost(v1::AdminService::Stub& stub, const std::string& ref,
                                        absl::Duration timeout) {
  if (ref.empty()) return ResolveHostRef(v1::ListHostsResponse(), ref);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ListHostsResponse hosts;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ListHosts(&ctx, v1::ListHostsRequest(), &hosts)));
  return ResolveHostRef(hosts, ref);
}

}  // namespace steward::ctl
