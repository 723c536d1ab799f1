#pragma once
// Who is calling: read from the verified TLS client certificate of the call,
// never from a message body.

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace steward::collector {

// The agent id from a client certificate with CN "agent/<id>".
// UNAUTHENTICATED when there is no verified certificate or it is not an
// agent's.
absl::StatusOr<std::string> AgentIdFromPeer(const grpc::CallbackServerContext& ctx);

// Admin callers (people) are identified by AdminGate (admin_gate.h).

}  // namespace steward::collector
