#include "collector/service/peer_identity.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/pki/collector_pki.h"

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

}  // namespace steward::collector
