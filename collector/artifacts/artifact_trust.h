#pragma once
// Whether the hosts an artifact is about to go to will install it. An agent
// installs only an artifact signed by a publisher key it trusts
// (--trusted-key, docs/security.md) and says in its Hello which keys those
// are (by key id); the collector keeps that in the agent's record. From it,
// before a job or deployment is created, each target host is one of:
//   accepts   connected, and trusts one of the artifact's signers;
//   refuses   connected, and trusts none of them (or the artifact is
//             unsigned);
//   unknown   not connected (what it trusts may change before it connects),
//             or its agent did not say (an agent older than the field).
// CheckArtifactTrust turns that into warnings for the operator, or a
// refusal when no connected host would accept it (the job or every wave
// would fail on every host that can be reached now).
//
// Stateless and thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "steward/v1/types.pb.h"

namespace steward::collector {

// What the collector knows of one target host's trust.
struct HostTrust {
  std::string agent_id;
  std::string hostname;
  bool connected = false;
  // Key ids its agent trusts (Hello.trusted_keys); nullopt when it did not
  // say.
  std::optional<std::vector<std::string>> trusted_key_ids;
};

// Warnings (one sentence each; none when every host accepts) for
// installing `artifact` on `hosts`. FailedPrecondition, saying why and what
// to do, when at least one host is connected and every connected host
// refuses it.
absl::StatusOr<std::vector<std::string>> CheckArtifactTrust(const v1::Artifact& artifact,
                                                            const std::vector<HostTrust>& hosts);

}  // namespace steward::collector
