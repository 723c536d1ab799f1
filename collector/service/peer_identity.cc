#include "collector/service/peer_identity.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/pki/collector_pki.h"
#include "common/tls/pki.h"
#include "grpc/grpc_security_constants.h"

namespace steward::collector {
namespace {

absl::StatusOr<std::string> NameWithPrefix(const grpc::CallbackServerContext& ctx,
                                           absl::string_view prefix, absl::string_view role) {
  auto auth = ctx.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        absl::StrCat("no verified client certificate: this call needs a ", role, " credential"));
  }
  for (const auto& cn : auth->FindPropertyValues("x509_common_name")) {
    absl::string_view name(cn.data(), cn.size());
    if (absl::StartsWith(name, prefix) && name.size() > prefix.size()) {
      return std::string(name.substr(prefix.size()));
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the client certificate is not a ", role, " credential"));
}

}  // namespace

absl::StatusOr<std::string> AgentIdFromPeer(const grpc::CallbackServerContext& ctx) {
  return NameWithPrefix(ctx, kAgentCnPrefix, "agent");
}

absl::StatusOr<AgentPeer> AgentPeerFromContext(const grpc::CallbackServerContext& ctx) {
  AgentPeer peer;
  auto id = AgentIdFromPeer(ctx);
  if (!id.ok()) return id.status();
  peer.agent_id = *std::move(id);
  peer.address = ctx.peer();
  auto auth = ctx.auth_context();
  auto pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return absl::UnauthenticatedError("the TLS layer gave no peer certificate");
  auto info = InspectCert(std::string_view(pems.front().data(), pems.front().size()));
  if (!info.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("the client certificate does not parse: ", info.status().message()));
  }
  peer.cert_serial = info->serial_hex;
  peer.cert_not_after_unix = info->not_after_unix;
  return peer;
}

}  // namespace steward::collector
