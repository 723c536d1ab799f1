#pragma once
// The agent's identity: its id, private key and client certificate, kept in
// the state directory (agent.key 0600, agent.crt, agent.id). Created once by
// enrollment; every later start reuses it.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {

struct AgentIdentity {
  std::string agent_id;
  std::string key_pem;
  std::string cert_pem;
};

// NotFound when the state directory holds no identity yet.
absl::StatusOr<AgentIdentity> LoadIdentity(const std::string& state_dir);

// Generates a key and CSR, calls Enroll with `token` over server-verified
// TLS, and stores the result in `state_dir`. Errors carry the collector's
// message (e.g. "enrollment token has expired; ...").
absl::StatusOr<AgentIdentity> EnrollAgent(const std::string& collector, const std::string& ca_pem,
                                          const std::string& token, const std::string& state_dir,
                                          const v1::HostFacts& facts, absl::Duration timeout);

// A channel to the collector, mutual TLS with `identity` (or server-only
// TLS when identity is null). A `receive_window_bytes` above 0 fixes the
// HTTP/2 receive window (for bandwidth-capped artifact downloads: the
// collector then sends only as fast as the agent reads).
std::shared_ptr<grpc::Channel> MakeCollectorChannel(const std::string& collector,
                                                    const std::string& ca_pem,
                                                    const AgentIdentity* identity,
                                                    int receive_window_bytes = 0);

inline constexpr char kAgentVersion[] = "0.1.0";

}  // namespace steward::agent
