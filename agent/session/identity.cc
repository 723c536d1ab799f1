#include "agent/session/identity.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/grpc/status_convert.h"
#include "common/status_macros.h"
#include "common/wire/agent_text.h"
#include "common/tls/pki.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::agent {

absl::StatusOr<AgentIdentity> LoadIdentity(const std::string& state_dir) {
  AgentIdentity id;
  ASSIGN_OR_RETURN(std::string raw_id, ReadFile(state_dir + "/agent.id"));
  id.agent_id = std::string(absl::StripAsciiWhitespace(raw_id));
  ASSIGN_OR_RETURN(id.key_pem, ReadFile(state_dir + "/agent.key"));
  ASSIGN_OR_RETURN(id.cert_pem, ReadFile(state_dir + "/agent.crt"));
  if (id.agent_id.empty()) return absl::DataLossError(absl::StrCat(state_dir, "/agent.id is empty"));
  if (auto s = CheckKeyMatchesCert(id.key_pem, id.cert_pem); !s.ok()) {
    return absl::DataLossError(absl::StrCat("identity in ", state_dir, " is inconsistent: ", s.message(),
                                            "; remove the directory and enroll again"));
  }
  return id;
}

std::shared_ptr<grpc::Channel> MakeCollectorChannel(const std::string& collector, const std::string& ca_pem,
                                                    const AgentIdentity* identity, int receive_window_bytes) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  if (identity) {
    ssl.pem_private_key = identity->key_pem;
    ssl.pem_cert_chain = identity->cert_pem;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetMaxReceiveMessageSize(16 << 20);
  if (receive_window_bytes > 0) {
    // A fixed HTTP/2 window: the collector sends only as fast as this side
    // reads (no bandwidth probes growing the window past a cap).
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, receive_window_bytes);
    // Its own connection, not the session's.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  }
  return grpc::CreateCustomChannel(collector, grpc::SslCredentials(ssl), args);
}

absl::StatusOr<AgentIdentity> EnrollAgent(const std::string& collector, const std::string& ca_pem,
                                          const std::string& token, const std::string& state_dir,
                                          const v1::HostFacts& facts, absl::Duration timeout) {
  RETURN_IF_ERROR(MakeDirs(state_dir, 0700));
  ASSIGN_OR_RETURN(std::string key_pem, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(std::string csr_pem, CreateCsrPem(key_pem, facts.hostname().empty() ? "agent" : facts.hostname()));

  auto stub = v1::AgentService::NewStub(MakeCollectorChannel(collector, ca_pem, nullptr));
  v1::EnrollRequest req;
  req.set_token(std::string(absl::StripAsciiWhitespace(token)));
  req.set_csr_pem(csr_pem);
  *req.mutable_facts() = facts;
  req.set_agent_version(kAgentVersion);
  SanitizeAgentText(&req);  // the collector refuses text that is not printable UTF-8
  v1::EnrollResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Status st = stub->Enroll(&ctx, req, &resp);
  if (!st.ok()) {
    return absl::Status(FromGrpcStatus(st).code(),
                        absl::StrCat("enrollment with ", collector, " failed: ", st.error_message()));
  }
  AgentIdentity id{resp.agent_id(), key_pem, resp.cert_pem()};
  RETURN_IF_ERROR(CheckKeyMatchesCert(id.key_pem, id.cert_pem));
  // Key first: an identity is complete only once agent.id exists.
  RETURN_IF_ERROR(WriteFileAtomic(state_dir + "/agent.key", id.key_pem, 0600));
  RETURN_IF_ERROR(WriteFileAtomic(state_dir + "/agent.crt", id.cert_pem, 0644));
  RETURN_IF_ERROR(WriteFileAtomic(state_dir + "/agent.id", id.agent_id + "\n", 0644));
  return id;
}

}  // namespace steward::agent
