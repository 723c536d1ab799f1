// AgentRunner: the agent's identity over its life. Renewal over the open
// stream when a third of the certificate's lifetime is left; re-enrollment
// with the configured token when the certificate expired (the agent was
// offline too long) or the collector refused it and a token this identity
// has not used yet is there (a renewal token from 'stewardctl hosts renew').
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/facts/host_facts.h"
#include "agent/session/agent_runner.h"
#include "agent/session/reports.h"
#include "common/duration.h"
#include "common/log_format.h"
#include "common/tls/pki.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {
// After a renewal request without an answer (collector too old, refused),
// the next one waits this long.
constexpr absl::Duration kRenewalRetry = absl::Minutes(10);
}  // namespace

void AgentRunner::Adopt(AgentIdentity next) {
  {
    absl::MutexLock lock(&identity_mu_);
    identity_ = next;
    renewal_key_.clear();
  }
  if (identity_listener_) identity_listener_(next);
}

absl::Status AgentRunner::Reenroll(const std::string& why) {
  const AgentIdentity old = identity();
  absl::StatusOr<std::string> token = CurrentEnrollToken(config_);
  if (!token.ok() || token->empty()) {
    absl::Status s = absl::FailedPreconditionError(absl::StrCat(
        "agent ", old.agent_id, " cannot connect: ", why,
        ". It needs an enrollment token to enroll again: put one in --enroll-token-file (or enroll_token_file, "
        "or STEWARD_ENROLL_TOKEN). To keep this agent's id and data, use a renewal token from 'stewardctl hosts "
        "renew ", old.agent_id, "'; an ordinary token ('stewardctl token create') enrolls it as a new host",
        token.ok() ? "" : absl::StrCat(" (", token.status().message(), ")")));
    spdlog::error("{}", s.message());
    return s;
  }
  FactsPaths paths;
  paths.os_release = config_.os_release;
  paths.proc_root = config_.proc_root;
  ParseReport report;
  v1::HostFacts facts = FactsToProto(CollectHostFacts(paths, &report));
  spdlog::warn("agent {}: {}; enrolling again with the token from {}", old.agent_id, why,
               config_.enroll_token_source.empty() ? "the configuration" : config_.enroll_token_source);
  absl::StatusOr<AgentIdentity> next =
      EnrollAgent(config_.collector, ca_pem_, *token, config_.state_dir, facts, absl::Seconds(30), old.agent_id);
  if (!next.ok()) {
    spdlog::error("agent {}: enrolling again failed: {}", old.agent_id, next.status().message());
    return next.status();
  }
  if (next->agent_id == old.agent_id) {
    spdlog::info("re-enrolled as the same agent {} (renewal token): its data on the collector is kept",
                 next->agent_id);
  } else {
    spdlog::warn("re-enrolled as a NEW agent {} (an ordinary token); the collector still lists the old id {} "
                 "until 'stewardctl hosts rm {}'",
                 next->agent_id, old.agent_id, old.agent_id);
  }
  next_renewal_try_ = absl::InfinitePast();
  Adopt(*std::move(next));
  return absl::OkStatus();
}

void AgentRunner::MaybeRequestRenewal(grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>* stream) {
  const absl::Time now = absl::Now();
  if (now < next_renewal_try_) return;
  const AgentIdentity current = identity();
  if (!RenewalDue(current.cert_pem, now)) return;
  // One request per pause: an unanswered or refused one is not repeated at
  // every envelope (the pause is shorter for short lifetimes).
  auto info = InspectCert(current.cert_pem);
  const absl::Duration lifetime =
      info.ok() ? absl::Seconds(info->not_after_unix - info->not_before_unix) - kCertBackdate : kRenewalRetry;
  next_renewal_try_ = now + std::min(kRenewalRetry, std::max(absl::Seconds(5), lifetime / 10));
  absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
  absl::StatusOr<std::string> csr = key.ok() ? CreateCsrPem(*key, "agent") : key.status();
  if (!csr.ok()) {
    spdlog::error("cannot create a key for the certificate renewal: {}", csr.status().message());
    return;
  }
  {
    absl::MutexLock lock(&identity_mu_);
    renewal_key_ = *key;
  }
  spdlog::info("certificate of agent {} expires at {}: asking the collector for a new one", current.agent_id,
               info.ok() ? FormatRfc3339(absl::FromUnixSeconds(info->not_after_unix)) : "?");
  v1::AgentMessage msg;
  msg.mutable_renew_certificate()->set_csr_pem(*std::move(csr));
  stream->Write(msg);  // a broken stream is noticed by the reader
}

bool AgentRunner::OnRenewed(const v1::RenewedCertificate& renewed) {
  AgentIdentity next;
  {
    absl::MutexLock lock(&identity_mu_);
    next = {identity_.agent_id, renewal_key_, renewed.cert_pem()};
  }
  if (next.key_pem.empty()) {
    spdlog::warn("the collector sent a certificate this session did not ask for; ignored");
    return false;
  }
  absl::Status ok = CheckKeyMatchesCert(next.key_pem, next.cert_pem);
  if (ok.ok()) ok = VerifyCertIssuedBy(ca_pem_, next.cert_pem);
  if (ok.ok()) ok = StoreIdentity(config_.state_dir, next);
  if (!ok.ok()) {
    // The collector still accepts the old certificate until this agent
    // connects with the new one; the next session asks again.
    spdlog::error("renewed certificate not used: {}", ok.message());
    return false;
  }
  spdlog::info("certificate renewed (valid until {}); stored in {}",
               FormatRfc3339(absl::FromUnixSeconds(renewed.not_after_unix())), config_.state_dir);
  Adopt(std::move(next));
  reconnect_now_ = true;
  return true;
}

}  // namespace steward::agent
