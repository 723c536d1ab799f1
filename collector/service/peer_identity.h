#pragma once
// Who is calling: read from the verified TLS client certificate of the call,
// never from a message body.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace steward::collector {

// The agent id from a client certificate with CN "agent/<id>".
// UNAUTHENTICATED when there is no verified certificate or it is not an
// agent's.
absl::StatusOr<std::string> AgentIdFromPeer(const grpc::CallbackServerContext& ctx);

// Admin callers (people) are identified by AdminGate (admin_gate.h).
// An agent caller: its id and the certificate it presented.
struct AgentPeer {
  std::string agent_id;
  // Serial (lower-case hex) and expiry (Unix seconds) of its certificate.
  std::string cert_serial;
  int64_t cert_not_after_unix = 0;
  // Where it connects from ("ipv4:10.0.0.5:41234"), for logs.
  std::string address;
};

// AgentIdFromPeer plus the certificate's serial and expiry (parsed from the
// verified peer certificate; CPU only, no I/O).
absl::StatusOr<AgentPeer> AgentPeerFromContext(const grpc::CallbackServerContext& ctx);

}  // namespace steward::collector
