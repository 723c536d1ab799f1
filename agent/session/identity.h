#pragma once
// The agent's identity: its id, private key and client certificate, kept in
// the state directory (agent.key 0600, agent.crt, agent.id). Created by
// enrollment; renewed over the session before the certificate expires
// (docs/security.md, "Agent identity"); replaced by a re-enrollment.
//
// Every write of an identity goes through a journal, identity.new (the id,
// key and certificate in one file, written atomically and synced), then the
// three files, then the journal is removed. A crash in between leaves the
// journal, and LoadIdentity finishes the swap: the key and certificate on
// disk always belong together.

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

// Stores `identity` in `state_dir` through the journal (see above).
absl::Status StoreIdentity(const std::string& state_dir, const AgentIdentity& identity);

// Generates a key and CSR, calls Enroll with `token` over server-verified
// TLS, and stores the result in `state_dir` (StoreIdentity), with the
// token's SHA-256 in enroll_token.sha256 (EnrolledWithToken). Errors carry
// the collector's message (e.g. "enrollment token has expired; ...").
// `previous_agent_id`: the id of the identity this one replaces (a
// re-enrollment), empty on a first enrollment.
absl::StatusOr<AgentIdentity> EnrollAgent(const std::string& collector, const std::string& ca_pem,
                                          const std::string& token, const std::string& state_dir,
                                          const v1::HostFacts& facts, absl::Duration timeout,
                                          const std::string& previous_agent_id = "");

// True when the identity in `state_dir` was enrolled with `token` (so
// trying it again cannot help).
bool EnrolledWithToken(const std::string& state_dir, const std::string& token);

// When to renew: less than a third of the certificate's lifetime (from its
// NotBefore plus kCertBackdate to its NotAfter) is left at `now`. False for
// a certificate that does not parse.
bool RenewalDue(const std::string& cert_pem, absl::Time now);
// True when the certificate's validity ended at or before `now`.
bool CertExpired(const std::string& cert_pem, absl::Time now);

// A channel to the collector, mutual TLS with `identity` (or server-only
// TLS when identity is null). A `receive_window_bytes` above 0 fixes the
// HTTP/2 receive window (for bandwidth-capped artifact downloads: the
// collector then sends only as fast as the agent reads).
std::shared_ptr<grpc::Channel> MakeCollectorChannel(const std::string& collector,
                                                    const std::string& ca_pem,
                                                    const AgentIdentity* identity,
                                                    int receive_window_bytes = 0);

}  // namespace steward::agent
