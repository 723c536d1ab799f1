// AdminService: agent identities and enrollment tokens (stewardctl hosts
// disable|enable|rm|renew|label, token list|revoke). The handlers are in
// admin_service.cc with the others; the work is here.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/service/admin_service.h"
#include "collector/service/session_registry.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "common/targeting/target_expr.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

void ToProto(const internal::TokenRecord& t, v1::EnrollmentToken* out) {
  out->set_token_id(t.token_id());
  out->set_created_unix(t.created_unix());
  out->set_expires_unix(t.expires_unix());
  out->set_used(t.used());
  out->set_max_uses(t.max_uses());
  *out->mutable_labels() = t.labels();
  out->set_revoked(t.revoked());
  out->set_revoked_unix(t.revoked_unix());
  out->set_agent_id(t.agent_id());
  out->set_machine(t.machine());
  out->set_fetched_unix(t.fetched_unix());
  out->set_fetched_from(t.fetched_from());
  out->set_fetched_hostname(t.fetched_hostname());
  out->set_fetches(t.fetches());
  out->set_enrolled_as(t.enrolled_as());
}

}  // namespace

absl::Status AdminServiceImpl::DoListTokens(v1::ListEnrollmentTokensResponse* resp) {
  ASSIGN_OR_RETURN(std::vector<internal::TokenRecord> tokens, deps_.store->ListTokens());
  std::stable_sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
    return a.created_unix() < b.created_unix();
  });
  for (const auto& t : tokens) ToProto(t, resp->add_tokens());
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoListPendingMachines(v1::ListPendingMachinesResponse* resp) {
  ASSIGN_OR_RETURN(std::vector<internal::TokenRecord> tokens, deps_.store->ListTokens());
  std::stable_sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
    return a.created_unix() < b.created_unix();
  });
  const int64_t now = absl::ToUnixSeconds(deps_.now());
  // A machine that downloaded with a token and is enrolled under that
  // host name (with another token: the installer run again on a host that
  // had an agent) is not pending.
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, deps_.store->ListAgents());
  std::set<std::string> enrolled_names;
  for (const auto& a : agents) enrolled_names.insert(a.facts().hostname());
  // A machine given several tokens (install run again after a failure):
  // not pending once one of them enrolled it; else listed once, with its
  // newest token.
  std::map<std::string, const internal::TokenRecord*> newest;
  std::set<std::string> done_machines;
  for (const auto& t : tokens) {
    if (t.machine().empty()) continue;
    if (t.used() > 0 || !t.enrolled_as().empty()) done_machines.insert(t.machine());
    newest[t.machine()] = &t;  // oldest first: the last one wins
  }
  for (const auto& t : tokens) {
    if (!t.fetched_hostname().empty() && enrolled_names.contains(t.fetched_hostname())) continue;
    if (!t.machine().empty() && (done_machines.contains(t.machine()) || newest[t.machine()] != &t)) continue;
    // Given to a machine (by name, or the installer fetched with it),
    // and no enrollment with it yet. Renewal tokens belong to hosts that
    // are enrolled already.
    if (!t.agent_id().empty() || t.used() > 0 || !t.enrolled_as().empty()) continue;
    if (t.machine().empty() && t.fetches() == 0) continue;
    // A revoked token nobody fetched with was taken back on purpose
    // (stewardctl install revokes the tokens of machines it did not reach).
    if (t.revoked() && t.fetches() == 0) continue;
    v1::PendingMachine* m = resp->add_machines();
    ToProto(t, m->mutable_token());
    m->set_token_unusable(t.revoked() || now >= t.expires_unix());
  }
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoRevokeToken(const v1::RevokeEnrollmentTokenRequest& req,
                                             v1::RevokeEnrollmentTokenResponse* resp) {
  if (req.token_id().empty()) return absl::InvalidArgumentError("token_id is required ('stewardctl token list')");
  if (req.token_id().find('.') != std::string::npos) {
    // Never echo what could be a secret.
    return absl::InvalidArgumentError(
        "that looks like a whole token (ID.SECRET): give only the id before the dot ('stewardctl token list')");
  }
  ASSIGN_OR_RETURN(internal::TokenRecord token,
                   deps_.store->RevokeToken(req.token_id(), absl::ToUnixSeconds(deps_.now()), req.enrolled_as()));
  ToProto(token, resp->mutable_token());
  spdlog::info("enrollment token {} revoked", token.token_id());
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoSetHostDisabled(const v1::SetHostDisabledRequest& req, const std::string& by,
                                                 v1::SetHostDisabledResponse* resp) {
  ASSIGN_OR_RETURN(bool changed, deps_.store->SetAgentDisabled(req.agent_id(), req.disabled(), by,
                                                               absl::ToUnixMillis(deps_.now())));
  resp->set_changed(changed);
  if (req.disabled()) {
    // Also when it already was disabled: a stream that raced the first
    // disable is closed now.
    resp->set_closed_sessions(static_cast<uint32_t>(deps_.sessions->CloseAgent(
        req.agent_id(), absl::PermissionDeniedError(absl::StrCat(
                            "agent ", req.agent_id(), " was disabled by an operator; 'stewardctl hosts enable ",
                            req.agent_id(), "' lets it in again")))));
  }
  spdlog::warn("agent {} {} by {}{}", req.agent_id(), req.disabled() ? "disabled" : "enabled", by,
               resp->closed_sessions() > 0 ? " (its open session was closed)" : "");
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoRemoveHost(const v1::RemoveHostRequest& req, const std::string& by,
                                            v1::RemoveHostResponse* resp) {
  ASSIGN_OR_RETURN(internal::AgentRecord rec, deps_.store->RemoveAgent(req.agent_id()));
  resp->set_hostname(rec.facts().hostname());
  resp->set_closed_sessions(static_cast<uint32_t>(deps_.sessions->CloseAgent(
      req.agent_id(), absl::PermissionDeniedError(absl::StrCat("agent ", req.agent_id(),
                                                               " was removed from the collector by an operator")))));
  spdlog::warn("agent {} (host '{}') removed by {}: its record, inventory, checks, services and jobs are deleted; "
               "its certificate is refused from now on",
               req.agent_id(), rec.facts().hostname(), by);
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoUpdateHostLabels(const v1::UpdateHostLabelsRequest& req,
                                                  v1::UpdateHostLabelsResponse* resp) {
  if (req.set().empty() && req.remove().empty()) return absl::InvalidArgumentError("no label to set or remove");
  for (const v1::Label& l : req.set()) RETURN_IF_ERROR(CheckTargetLabel(l.name(), l.value()));
  std::vector<v1::Label> set(req.set().begin(), req.set().end());
  std::vector<std::string> remove(req.remove().begin(), req.remove().end());
  // Under the settings lock, like every push: the session's labels and the
  // settings computed from them change together.
  return deps_.sessions->WithSettingsLock([&]() -> absl::Status {
    ASSIGN_OR_RETURN(internal::AgentRecord rec, deps_.store->UpdateAgentLabels(req.agent_id(), set, remove));
    ASSIGN_OR_RETURN(std::vector<v1::CheckAssignment> checks, deps_.store->ListChecks());
    std::vector<v1::Label> labels(rec.labels().begin(), rec.labels().end());
    resp->set_pushed(deps_.sessions->Relabel(req.agent_id(), labels, [&](SettingsSink* sink) {
      sink->PushSettings(SettingsFor(checks, labels));
    }));
    *resp->mutable_labels() = rec.labels();
    return absl::OkStatus();
  });
}

absl::Status AdminServiceImpl::DoRenewHost(const v1::RenewHostRequest& req, const std::string& by,
                                           v1::RenewHostResponse* resp) {
  if (req.ttl_seconds() < 0) return absl::InvalidArgumentError("ttl_seconds must not be negative");
  ASSIGN_OR_RETURN(internal::AgentRecord rec, deps_.store->GetAgent(req.agent_id()));
  int64_t now = absl::ToUnixSeconds(deps_.now());
  internal::TokenRecord token;
  token.set_token_id(RandomHex(8));
  std::string secret = RandomHex(32);
  token.set_secret_sha256(Sha256Hex(secret));
  token.set_created_unix(now);
  token.set_expires_unix(now + (req.ttl_seconds() > 0 ? req.ttl_seconds() : absl::ToInt64Seconds(kRenewalTokenTtl)));
  token.set_max_uses(1);
  token.set_agent_id(rec.agent_id());
  RETURN_IF_ERROR(deps_.store->PutToken(token));
  resp->set_token(absl::StrCat(token.token_id(), ".", secret));
  resp->set_token_id(token.token_id());
  resp->set_expires_unix(token.expires_unix());
  spdlog::info("renewal token {} for agent {} (host '{}') created by {}", token.token_id(), rec.agent_id(),
               rec.facts().hostname(), by);
  return absl::OkStatus();
}

}  // namespace steward::collector
