#pragma once
// The one check every agent call passes (Connect's Hello, FetchArtifact):
// the agent is registered and not disabled, and the certificate it presents
// is its current one (or, right after a renewal, the one it replaced, until
// the agent first connects with the new one) and has not expired by the
// collector's clock. TLS already verified the chain; this adds what only
// the collector's records know (revocation by disable, rm, renewal or
// re-enrollment). Stateless; thread-safe.

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/service/peer_identity.h"
#include "steward/internal/records.pb.h"

namespace steward::collector {

class Store;

// The agent's record when `peer` may call now. PERMISSION_DENIED for a
// removed (unknown) or disabled agent; UNAUTHENTICATED for an expired or
// replaced certificate. Each message names the agent, the reason and what
// an operator can do.
absl::StatusOr<internal::AgentRecord> AdmitAgent(Store& store, const AgentPeer& peer, absl::Time now);

}  // namespace steward::collector
