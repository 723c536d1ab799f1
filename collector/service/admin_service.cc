#include "collector/service/admin_service.h"

#include <algorithm>
#include <tuple>
#include <type_traits>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/artifacts/artifact_repository.h"
#include "collector/backup/collector_backup.h"
#include "collector/artifacts/artifact_trust.h"
#include "collector/deploy/job_dispatch.h"
#include "collector/deploy/rollout_engine.h"
#include "collector/install/install_catalog.h"
#include "collector/service/artifact_reactors.h"
#include "collector/service/metrics_query.h"
#include "collector/service/session_registry.h"
#include "collector/service/work_queue.h"
#include "collector/storage/store.h"
#include "collector/targeting/host_selection.h"
#include "google/protobuf/arena.h"
#include "collector/tsdb/query/query_engine.h"
#include "collector/tsdb/tsdb_store.h"
#include "common/build_info/build_info.h"
#include "common/crypto.h"
#include "common/glob.h"
#include "common/inventory/package_names.h"
#include "common/job_id.h"
#include "common/health/check_spec.h"
#include "common/jobs/job_spec.h"
#include "common/jobs/job_statement.h"
#include "common/log_format.h"
#include "common/grpc/status_convert.h"
#include "common/status_macros.h"
#include "common/targeting/target_expr.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

absl::Status AdminServiceImpl::AddHostnames(const google::protobuf::RepeatedPtrField<v1::Job>& jobs,
                                            google::protobuf::Map<std::string, std::string>* hostnames) {
  for (const v1::Job& j : jobs) {
    if (hostnames->contains(j.agent_id())) continue;
    absl::StatusOr<internal::AgentRecord> rec = deps_.store->GetAgent(j.agent_id());
    if (!rec.ok() && !absl::IsNotFound(rec.status())) return rec.status();
    (*hostnames)[j.agent_id()] = rec.ok() ? rec->facts().hostname() : "";
  }
  return absl::OkStatus();
}

HostTrust AdminServiceImpl::HostTrustOf(const internal::AgentRecord& rec) {
  HostTrust h{.agent_id = rec.agent_id(),
              .hostname = rec.facts().hostname(),
              .connected = deps_.sessions->IsConnected(rec.agent_id())};
  if (rec.has_trusted_keys()) {
    h.trusted_key_ids.emplace(rec.trusted_keys().key_ids().begin(), rec.trusted_keys().key_ids().end());
  }
  return h;
}

absl::StatusOr<std::vector<std::string>> AdminServiceImpl::ArtifactTrustOfPlan(const v1::Deployment& plan) {
  if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
  ASSIGN_OR_RETURN(const v1::Artifact artifact, deps_.artifacts->Get(plan.spec().artifact_sha256()));
  std::vector<HostTrust> hosts;
  for (const v1::DeploymentHost& h : plan.hosts()) {
    ASSIGN_OR_RETURN(const internal::AgentRecord rec, deps_.store->GetAgent(h.agent_id()));
    hosts.push_back(HostTrustOf(rec));
  }
  return CheckArtifactTrust(artifact, hosts);
}

absl::StatusOr<std::optional<Glob>> AdminServiceImpl::NameFilter(const std::string& pattern) {
  if (pattern.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(Glob glob, Glob::Parse(pattern));
  return glob;
}

absl::StatusOr<std::vector<internal::AgentRecord>> AdminServiceImpl::SelectAgents(const std::string& agent_id) {
  if (agent_id.empty()) return deps_.store->ListAgents();
  ASSIGN_OR_RETURN(auto rec, deps_.store->GetAgent(agent_id));
  return std::vector<internal::AgentRecord>{std::move(rec)};
}

template <typename Fn>
void AdminServiceImpl::Submit(grpc::ServerUnaryReactor* reactor, Fn fn) {
  if (!deps_.work->TrySubmit([reactor, fn = std::move(fn)]() mutable { reactor->Finish(ToGrpcStatus(fn())); })) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector is overloaded; retry"));
  }
}

template <typename Req, typename Resp, typename Fn>
grpc::ServerUnaryReactor* AdminServiceImpl::Run(grpc::CallbackServerContext* ctx, const char* method,
                                                const Req* req, Resp* resp, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  PeerCredential peer = PeerCredential::Of(*ctx);
  if (!peer.verified) {
    // Not recorded (anyone could fill the trail), and no queued work.
    Caller nobody;
    reactor->Finish(ToGrpcStatus(gate_.Check(peer, method, &nobody)));
    return reactor;
  }
  Submit(reactor, [this, method, req, resp, peer = std::move(peer), fn = std::move(fn)]() mutable -> absl::Status {
    Caller caller;
    RETURN_IF_ERROR(gate_.Admit(peer, method, *req, *resp, &caller));
    absl::Status outcome;
    if constexpr (std::is_invocable_v<Fn&, const Caller&>) {
      outcome = fn(caller);
    } else {
      outcome = fn();
    }
    return gate_.Finish(caller, peer, method, *req, *resp, outcome);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::CreateEnrollmentToken(
    grpc::CallbackServerContext* ctx, const v1::CreateEnrollmentTokenRequest* req,
    v1::CreateEnrollmentTokenResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoCreateToken(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListHosts(grpc::CallbackServerContext* ctx,
                                                      const v1::ListHostsRequest* req,
                                                      v1::ListHostsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListHosts(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListSoftware(grpc::CallbackServerContext* ctx,
                                                         const v1::ListSoftwareRequest* req,
                                                         v1::ListSoftwareResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListSoftware(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListMetricNames(grpc::CallbackServerContext* ctx,
                                                            const v1::ListMetricNamesRequest* req,
                                                            v1::ListMetricNamesResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListMetricNames(*req, resp); });
}
namespace {
class ArenaQueryHolder final
    : public grpc::MessageHolder<v1::QueryMetricsRequest, v1::QueryMetricsResponse> {
 public:
  ArenaQueryHolder() {
    set_request(google::protobuf::Arena::CreateMessage<v1::QueryMetricsRequest>(&arena_));
    set_response(google::protobuf::Arena::CreateMessage<v1::QueryMetricsResponse>(&arena_));
  }
  void Release() override { delete this; }

 private:
  google::protobuf::Arena arena_;
};
}  // namespace

grpc::MessageHolder<v1::QueryMetricsRequest, v1::QueryMetricsResponse>*
AdminServiceImpl::ArenaQueryMessages::AllocateMessages() {
  return new ArenaQueryHolder();
}

grpc::ServerUnaryReactor* AdminServiceImpl::QueryMetrics(grpc::CallbackServerContext* ctx,
                                                         const v1::QueryMetricsRequest* req,
                                                         v1::QueryMetricsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // The gate inline: this path reads storage on the gRPC thread anyway; only
  // a refusal (whose audit record is a synced write) goes to the WorkQueue.
  const PeerCredential peer = PeerCredential::Of(*ctx);
  Caller caller;
  if (absl::Status st = gate_.Check(peer, __func__, &caller); !st.ok()) {
    if (!peer.verified) {
      reactor->Finish(ToGrpcStatus(st));
    } else {
      Submit(reactor, [this, peer, caller, req, resp, st] {
        gate_.Record(caller, peer, "QueryMetrics", *req, *resp, st, /*refused=*/true).IgnoreError();
        return st;
      });
    }
    return reactor;
  }
  // A query naming its series by exact label values (one host's cpu over
  // an hour) is answered on this gRPC thread: handing it to the WorkQueue
  // cost more than the query itself (thread wake-ups on these VMs,
  // docs/benchmarks.md, high-cpu-1). Its series are selected here; only a
  // small selection is also read here, a larger one goes on to the
  // WorkQueue. Any other query runs on the WorkQueue from the start.
  absl::StatusOr<tsdb::QueryRequest> query = QueryRequestOf(*req);
  if (!query.ok()) {
    reactor->Finish(ToGrpcStatus(query.status()));
    return reactor;
  }
  const bool one_agent = !req->agent_id().empty();
  if (!SelectsByExactLabel(*query)) {
    Submit(reactor, [=, this, query = std::make_shared<tsdb::QueryRequest>(*std::move(query))]() -> absl::Status {
      ASSIGN_OR_RETURN(tsdb::PreparedQuery prepared, QueryEngineOf().Prepare(std::move(*query)));
      return AnswerQuery(std::move(prepared), one_agent, resp);
    });
    return reactor;
  }
  absl::StatusOr<tsdb::PreparedQuery> prepared = QueryEngineOf().Prepare(*std::move(query));
  if (!prepared.ok()) {
    reactor->Finish(ToGrpcStatus(prepared.status()));
    return reactor;
  }
  if (SmallEnoughToRunInline(*prepared)) {
    reactor->Finish(ToGrpcStatus(AnswerQuery(*std::move(prepared), one_agent, resp)));
    return reactor;
  }
  Submit(reactor, [=, this, prepared = std::make_shared<tsdb::PreparedQuery>(*std::move(prepared))] {
    return AnswerQuery(std::move(*prepared), one_agent, resp);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::CompactMetrics(grpc::CallbackServerContext* ctx,
                                                           const v1::CompactMetricsRequest* req,
                                                           v1::CompactMetricsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    if (deps_.metrics == nullptr) return absl::UnavailableError("this collector keeps no time series");
    RETURN_IF_ERROR(deps_.metrics->Flush());
    RETURN_IF_ERROR(deps_.metrics->CompactAll());
    ASSIGN_OR_RETURN(tsdb::TsdbStore::DiskUsage u, deps_.metrics->disk_usage());
    resp->set_data_bytes(u.data_bytes);
    resp->set_index_bytes(u.index_bytes);
    resp->set_rollup_bytes(u.rollup_bytes);
    resp->set_wal_bytes(u.wal_bytes);
    resp->set_head_bytes(deps_.metrics->head_bytes());
    resp->set_active_series(deps_.metrics->active_series());
    return absl::OkStatus();
  });
}

grpc::ServerReadReactor<v1::PushArtifactRequest>* AdminServiceImpl::PushArtifact(grpc::CallbackServerContext* ctx,
                                                                                 v1::PushArtifactResponse* resp) {
  PeerCredential peer = PeerCredential::Of(*ctx);
  if (!peer.verified) {
    Caller nobody;
    return new RejectedCall<grpc::ServerReadReactor<v1::PushArtifactRequest>>(
        ToGrpcStatus(gate_.Check(peer, __func__, &nobody)));
  }
  return new PushArtifactReactor(deps_, &gate_, std::move(peer), resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetArtifact(grpc::CallbackServerContext* ctx,
                                                        const v1::GetArtifactRequest* req,
                                                        v1::GetArtifactResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
    ASSIGN_OR_RETURN(*resp->mutable_artifact(), deps_.artifacts->Get(req->sha256()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListArtifacts(grpc::CallbackServerContext* ctx,
                                                          const v1::ListArtifactsRequest* req,
                                                          v1::ListArtifactsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
    ASSIGN_OR_RETURN(std::vector<v1::Artifact> all, deps_.artifacts->List());
    for (v1::Artifact& a : all) *resp->add_artifacts() = std::move(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteArtifact(grpc::CallbackServerContext* ctx,
                                                           const v1::DeleteArtifactRequest* req,
                                                           v1::DeleteArtifactResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
    auto remove = [&] { return deps_.artifacts->Delete(req->sha256()); };
    RETURN_IF_ERROR(deps_.rollouts != nullptr ? deps_.rollouts->DeleteArtifactUnlessInUse(req->sha256(), remove)
                                              : remove());
    spdlog::info("artifact {} removed", req->sha256().substr(0, 12));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RunJob(grpc::CallbackServerContext* ctx, const v1::RunJobRequest* req,
                                                   v1::RunJobResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(deps_.store->GetAgent(req->agent_id()).status());
    v1::Job job;
    *job.mutable_spec() = req->spec();
    job.set_agent_id(req->agent_id());
    job.set_created_ms(absl::ToUnixMillis(deps_.now()));
    job.set_created_by(caller.who);
    if (job.spec().job_id().empty()) job.mutable_spec()->set_job_id(absl::StrCat("job-", RandomHex(6)));
    // A deployment's jobs are its own: one made by hand must not pass for
    // one (the rollout engine would adopt it as the host's install).
    if (!job.spec().deployment_id().empty() || IsDeploymentJobId(job.spec().job_id())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "job id '", job.spec().job_id().substr(0, 80),
          "' has the form of a deployment's jobs (d-XXXXXXXX-N) or names a deployment; pick another id"));
    }
    RETURN_IF_ERROR(ValidateJobSpec(job.spec()));
    // Agents refuse an unsigned host-changing job: say so now, not later.
    RETURN_IF_ERROR(CheckJobSignedFor(job.spec(), req->agent_id(), job.created_ms()));
    if (req->spec().has_install_artifact()) {
      if (deps_.artifacts == nullptr) return absl::UnavailableError("this collector keeps no artifacts");
      ASSIGN_OR_RETURN(const v1::Artifact artifact, deps_.artifacts->Get(req->spec().install_artifact().sha256()));
      ASSIGN_OR_RETURN(const internal::AgentRecord rec, deps_.store->GetAgent(req->agent_id()));
      ASSIGN_OR_RETURN(std::vector<std::string> warnings, CheckArtifactTrust(artifact, {HostTrustOf(rec)}));
      for (std::string& w : warnings) resp->add_warnings(std::move(w));
    } else if (req->spec().has_rollback()) {
      RETURN_IF_ERROR(deps_.store->GetJob(req->agent_id(), req->spec().rollback().of_job_id()).status());
    }
    ASSIGN_OR_RETURN(*resp->mutable_job(), DispatchJob(*deps_.store, *deps_.sessions, std::move(job)));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListJobs(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest* req,
                                                     v1::ListJobsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    if (!req->job_id().empty() && !req->agent_id().empty()) {
      ASSIGN_OR_RETURN(*resp->add_jobs(), deps_.store->GetJob(req->agent_id(), req->job_id()));
    } else {
      ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, deps_.store->ListJobs(req->agent_id()));
      for (v1::Job& j : jobs) {
        if (!req->job_id().empty() && j.spec().job_id() != req->job_id()) continue;
        *resp->add_jobs() = std::move(j);
      }
    }
    return AddHostnames(resp->jobs(), resp->mutable_hostnames());
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListChanges(grpc::CallbackServerContext* ctx,
                                                        const v1::ListChangesRequest* req,
                                                        v1::ListChangesResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListChanges(*req, resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListHealth(grpc::CallbackServerContext* ctx,
                                                       const v1::ListHealthRequest* req,
                                                       v1::ListHealthResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListHealth(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListServices(grpc::CallbackServerContext* ctx,
                                                         const v1::ListServicesRequest* req,
                                                         v1::ListServicesResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListServices(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::PutCheck(grpc::CallbackServerContext* ctx, const v1::PutCheckRequest* req,
                                                     v1::PutCheckResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoPutCheck(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListChecks(grpc::CallbackServerContext* ctx,
                                                       const v1::ListChecksRequest* req, v1::ListChecksResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(auto checks, deps_.store->ListChecks());
    for (auto& c : checks) *resp->add_checks() = std::move(c);
    return absl::OkStatus();
  });
}
grpc::ServerUnaryReactor* AdminServiceImpl::DeleteCheck(grpc::CallbackServerContext* ctx,
                                                        const v1::DeleteCheckRequest* req, v1::DeleteCheckResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoDeleteCheck(*req); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::AddUser(grpc::CallbackServerContext* ctx, const v1::AddUserRequest* req,
                                                    v1::AddUserResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this](const Caller& caller) { return DoAddUser(caller, *req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListUsers(grpc::CallbackServerContext* ctx,
                                                      const v1::ListUsersRequest* req, v1::ListUsersResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<internal::UserRecord> users, deps_.store->ListUsers());
    for (internal::UserRecord& u : users) *resp->add_users() = std::move(*u.mutable_user());
    return absl::OkStatus();
  });
}
grpc::ServerUnaryReactor* AdminServiceImpl::RemoveUser(grpc::CallbackServerContext* ctx,
                                                       const v1::RemoveUserRequest* req, v1::RemoveUserResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(deps_.store->DeleteUser(req->name()));
    spdlog::info("user '{}' removed by {}", req->name(), caller.who);
    return absl::OkStatus();
  });
}
grpc::ServerUnaryReactor* AdminServiceImpl::RotateUser(grpc::CallbackServerContext* ctx,
                                                       const v1::RotateUserRequest* req, v1::RotateUserResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoRotateUser(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::ListAuditRecords(grpc::CallbackServerContext* ctx,
                                                             const v1::ListAuditRecordsRequest* req,
                                                             v1::ListAuditRecordsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListAudit(*req, resp); });
}
grpc::ServerUnaryReactor* AdminServiceImpl::VerifyAudit(grpc::CallbackServerContext* ctx,
                                                        const v1::VerifyAuditRequest* req,
                                                        v1::VerifyAuditResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoVerifyAudit(resp); });
}

absl::Status AdminServiceImpl::DoListServices(const v1::ListServicesRequest& req, v1::ListServicesResponse* resp) {
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, SelectAgents(req.agent_id()));
  for (const auto& rec : agents) {
    if (rec.services_reported_ms() == 0) {
      resp->add_hosts_not_reporting(rec.agent_id());
      continue;
    }
    if (!rec.systemd_present()) {
      resp->add_hosts_without_systemd(rec.agent_id());
      continue;
    }
    ASSIGN_OR_RETURN(auto units, deps_.store->ListServices(rec.agent_id()));
    for (auto& u : units) {
      if (!req.active_state().empty() && u.active_state() != req.active_state()) continue;
      if (!req.name_contains().empty() && u.name().find(req.name_contains()) == std::string::npos) continue;
      v1::HostService* hs = resp->add_services();
      hs->set_agent_id(rec.agent_id());
      hs->set_hostname(rec.facts().hostname());
      hs->set_reported_ms(rec.services_reported_ms());
      *hs->mutable_unit() = std::move(u);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> AdminServiceImpl::PushSettingsToSessions() {
  return deps_.sessions->WithSettingsLock([&]() -> absl::StatusOr<uint32_t> {
    ASSIGN_OR_RETURN(auto checks, deps_.store->ListChecks());
    uint32_t pushed = 0;
    deps_.sessions->ForEach([&](const std::string&, const std::vector<v1::Label>& labels, SettingsSink* sink) {
      sink->PushSettings(SettingsFor(checks, labels));
      ++pushed;
    });
    return pushed;
  });
}

absl::Status AdminServiceImpl::DoPutCheck(const v1::PutCheckRequest& req, v1::PutCheckResponse* resp) {
  RETURN_IF_ERROR(ValidateCheckSpec(req.check().spec()));
  for (const auto& l : req.check().selector()) {
    if (absl::Status st = CheckTargetLabel(l.name(), l.value()); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("check selector: ", st.message()));
    }
  }
  RETURN_IF_ERROR(deps_.store->PutCheck(req.check()));
  ASSIGN_OR_RETURN(uint32_t pushed, PushSettingsToSessions());
  resp->set_pushed_to(pushed);
  spdlog::info("check '{}' ({}) stored; pushed to {} session(s)", req.check().spec().name(),
               req.check().spec().type(), pushed);
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoDeleteCheck(const v1::DeleteCheckRequest& req) {
  RETURN_IF_ERROR(deps_.store->DeleteCheck(req.name()));
  spdlog::info("check '{}' removed", req.name());
  return PushSettingsToSessions().status();
}

absl::Status AdminServiceImpl::DoListChanges(const v1::ListChangesRequest& req, v1::ListChangesResponse* resp) {
  size_t limit = req.limit() > 0 ? req.limit() : 100000;
  ASSIGN_OR_RETURN(const std::optional<Glob> name, NameFilter(req.name()));
  const auto keep = [&](const v1::InventoryChange& c) {
    return (req.source().empty() || c.source() == req.source()) &&
           (!name || name->Matches(c.name(), PackageNameCase(c.source())));
  };
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, SelectAgents(req.agent_id()));
  std::vector<v1::HostChange> all;
  bool truncated = false;
  for (const auto& rec : agents) {
    bool cut = false;
    ASSIGN_OR_RETURN(auto changes, deps_.store->ListChanges(rec.agent_id(), req.since_ms(), limit, &cut, req.cause(),
                                                            keep));
    truncated |= cut;
    for (auto& c : changes) {
      v1::HostChange hc;
      hc.set_agent_id(rec.agent_id());
      hc.set_hostname(rec.facts().hostname());
      *hc.mutable_change() = std::move(c);
      all.push_back(std::move(hc));
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.change().time_ms() < b.change().time_ms(); });
  if (all.size() > limit) {
    all.erase(all.begin(), all.end() - static_cast<long>(limit));
    truncated = true;
  }
  for (auto& hc : all) *resp->add_changes() = std::move(hc);
  resp->set_truncated(truncated);
  return absl::OkStatus();
}

namespace {

// A machine as an operator names it: a host name, an address or
// user@host:port, printable ASCII without blanks (it shows in tables).
absl::Status CheckMachineName(const std::string& machine) {
  if (machine.size() > 255) return absl::InvalidArgumentError("machine name longer than 255 characters");
  for (char c : machine) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "machine name holds a blank or a character that is not printable ASCII; give a host name or address");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AdminServiceImpl::DoCreateToken(const v1::CreateEnrollmentTokenRequest& req,
                                             v1::CreateEnrollmentTokenResponse* resp) {
  if (req.ttl_seconds() < 0) return absl::InvalidArgumentError("ttl_seconds must not be negative");
  for (const auto& l : req.labels()) RETURN_IF_ERROR(CheckTargetLabel(l.name(), l.value()));
  int64_t now = absl::ToUnixSeconds(deps_.now());
  internal::TokenRecord token;
  token.set_token_id(RandomHex(8));
  std::string secret = RandomHex(32);
  token.set_secret_sha256(Sha256Hex(secret));
  token.set_created_unix(now);
  token.set_expires_unix(now + (req.ttl_seconds() > 0 ? req.ttl_seconds() : 3600));
  token.set_max_uses(req.max_uses() > 0 ? req.max_uses() : 1);
  *token.mutable_labels() = req.labels();
  RETURN_IF_ERROR(CheckMachineName(req.machine()));
  token.set_machine(req.machine());
  RETURN_IF_ERROR(deps_.store->PutToken(token));
  resp->set_token(absl::StrCat(token.token_id(), ".", secret));
  resp->set_expires_unix(token.expires_unix());
  resp->set_token_id(token.token_id());
  spdlog::info("created enrollment token {} ({} use(s), expires {})", token.token_id(),
               token.max_uses(), token.expires_unix());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetVersion(grpc::CallbackServerContext* ctx,
                                                       const v1::GetVersionRequest* req, v1::GetVersionResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] {
    DoGetVersion(resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::BackupCollector(grpc::CallbackServerContext* ctx,
                                                            const v1::BackupCollectorRequest* req,
                                                            v1::BackupCollectorResponse* resp) {
  // On the WorkQueue like every call: the checkpoints and copies block for
  // as long as the data takes, which a gRPC thread must not.
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    BackupSources sources;
    sources.data_dir = deps_.data_dir;
    sources.store = deps_.store;
    sources.metrics = deps_.metrics;
    sources.now = deps_.now;
    if (sources.data_dir.empty()) return absl::UnavailableError("this collector has no data directory to back up");
    ASSIGN_OR_RETURN(BackupSummary summary, WriteBackup(sources, req->path()));
    resp->set_path(summary.path);
    resp->set_bytes(summary.bytes);
    resp->set_files(summary.files);
    resp->set_duration_ms(absl::ToInt64Milliseconds(summary.duration));
    resp->set_store_sequence(summary.manifest.store_sequence);
    resp->set_tsdb_sequence(summary.manifest.tsdb_sequence);
    resp->set_created_unix_ms(summary.manifest.created_unix_ms);
    spdlog::info("backup written to {}: {} file(s), {} byte(s) in {} ms", summary.path, summary.files,
                 summary.bytes, absl::ToInt64Milliseconds(summary.duration));
    return absl::OkStatus();
  });
}

void AdminServiceImpl::DoGetVersion(v1::GetVersionResponse* resp) const {
  const BuildInfo& build = GetBuildInfo();
  resp->set_version(build.version);
  resp->set_git_commit(build.git_commit);
  resp->set_build_type(build.build_type);
  resp->set_protocol_version(build.protocol_version);
  resp->set_started_unix_ms(absl::ToUnixMillis(deps_.started));
}

absl::Status AdminServiceImpl::DoListHosts(const v1::ListHostsRequest& req, v1::ListHostsResponse* resp) {
  std::vector<internal::AgentRecord> agents;
  if (req.where().empty()) {
    ASSIGN_OR_RETURN(agents, deps_.store->ListAgents());
  } else {
    ASSIGN_OR_RETURN(TargetExpr where, TargetExpr::Parse(req.where()));
    ASSIGN_OR_RETURN(agents, SelectHosts(*deps_.store, where));
    resp->set_where(where.ToString());
  }
  for (auto& rec : agents) {
    v1::Host* h = resp->add_hosts();
    h->set_agent_id(rec.agent_id());
    *h->mutable_facts() = rec.facts();
    h->set_agent_version(rec.agent_version());
    h->set_last_seen_ms(rec.last_seen_ms());
    h->set_connected(deps_.sessions->IsConnected(rec.agent_id()));
    *h->mutable_labels() = rec.labels();
    h->set_enrolled_ms(rec.enrolled_ms());
    h->set_software_count(rec.software_count());
    h->set_disabled(rec.disabled());
    h->set_cert_expires_unix(rec.cert_not_after_unix());
  }
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoListSoftware(const v1::ListSoftwareRequest& req,
                                              v1::ListSoftwareResponse* resp) {
  ASSIGN_OR_RETURN(const std::optional<Glob> name, NameFilter(req.name()));
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, SelectAgents(req.agent_id()));
  const auto keep = [&](const v1::SoftwareItem& item) {
    return (req.source().empty() || item.source() == req.source()) &&
           (!name || name->Matches(item.name(), PackageNameCase(item.source())));
  };
  if (name && !name->literal_prefix().empty() && req.agent_id().empty()) {
    // Every host, names with a known start: the index by name (folded, as
    // pip's and npm's names match folded), in the order of the scan below.
    ASSIGN_OR_RETURN(std::vector<Store::HostItem> found,
                     deps_.store->FindSoftwareByName(absl::AsciiStrToLower(name->literal_prefix())));
    absl::flat_hash_map<std::string, size_t> position;
    for (size_t i = 0; i < agents.size(); ++i) position.emplace(agents[i].agent_id(), i);
    std::vector<std::pair<size_t, Store::HostItem*>> rows;
    for (Store::HostItem& hi : found) {
      auto at = position.find(hi.agent_id);
      if (at != position.end() && keep(hi.item)) rows.emplace_back(at->second, &hi);
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      const v1::SoftwareItem& x = a.second->item;
      const v1::SoftwareItem& y = b.second->item;
      return std::tie(x.source(), x.name(), x.arch(), x.location()) <
             std::tie(y.source(), y.name(), y.arch(), y.location());
    });
    for (auto& [pos, hi] : rows) {
      v1::HostSoftware* hs = resp->add_items();
      hs->set_agent_id(hi->agent_id);
      hs->set_hostname(agents[pos].facts().hostname());
      *hs->mutable_item() = std::move(hi->item);
    }
    return absl::OkStatus();
  }
  for (const auto& rec : agents) {
    ASSIGN_OR_RETURN(auto items, deps_.store->ListSoftware(rec.agent_id()));
    for (auto& item : items) {
      if (!keep(item)) continue;
      v1::HostSoftware* hs = resp->add_items();
      hs->set_agent_id(rec.agent_id());
      hs->set_hostname(rec.facts().hostname());
      *hs->mutable_item() = std::move(item);
    }
  }
  return absl::OkStatus();
}

absl::Status AdminServiceImpl::DoListMetricNames(const v1::ListMetricNamesRequest& req,
                                                 v1::ListMetricNamesResponse* resp) {
  if (req.agent_id().empty()) return absl::InvalidArgumentError("agent_id is required");
  RETURN_IF_ERROR(deps_.store->GetAgent(req.agent_id()).status());
  if (deps_.metrics == nullptr) return absl::UnavailableError("this collector keeps no time series");
  ASSIGN_OR_RETURN(auto names, deps_.metrics->MetricNamesWithLabel(kAgentLabel, req.agent_id()));
  for (auto& n : names) resp->add_names(std::move(n));
  return absl::OkStatus();
}

absl::StatusOr<tsdb::QueryRequest> AdminServiceImpl::QueryRequestOf(const v1::QueryMetricsRequest& req) {
  if (!req.agent_id().empty()) RETURN_IF_ERROR(deps_.store->GetAgent(req.agent_id()).status());
  if (deps_.metrics == nullptr) return absl::UnavailableError("this collector keeps no time series");
  ASSIGN_OR_RETURN(tsdb::QueryRequest query, ToQueryRequest(req, absl::ToUnixMillis(deps_.now())));
  query.max_points = kMaxQueryPoints;
  return query;
}

tsdb::QueryEngine AdminServiceImpl::QueryEngineOf() {
  // A large query also runs on the other cores (its shares of the series
  // on threads of its own); a small one stays on the calling thread.
  static const int kQueryThreads =
      std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  return tsdb::QueryEngine(deps_.metrics, tsdb::QueryThreads{.max = kQueryThreads});
}

bool AdminServiceImpl::SelectsByExactLabel(const tsdb::QueryRequest& query) {
  return std::any_of(query.matchers.begin(), query.matchers.end(), [](const tsdb::LabelMatcher& m) {
    // `label=""` matches the series without the label: possibly all.
    return m.op == tsdb::LabelMatcher::Op::kEq && m.name != tsdb::kMetricNameLabel && !m.value.empty();
  });
}

bool AdminServiceImpl::SmallEnoughToRunInline(const tsdb::PreparedQuery& query) {
  const tsdb::QueryRequest& r = query.request();
  // Prepare checked end_ms >= start_ms; in uint64 the span cannot overflow.
  constexpr uint64_t kHourMs = 3'600'000;
  const uint64_t span = static_cast<uint64_t>(r.end_ms) - static_cast<uint64_t>(r.start_ms);
  const uint64_t hours = std::max<uint64_t>(1, span / kHourMs + (span % kHourMs != 0 ? 1 : 0));
  const uint64_t series = std::max<uint64_t>(1, query.series_count());
  return hours <= static_cast<uint64_t>(kInlineSeriesHours) / series;
}

absl::Status AdminServiceImpl::AnswerQuery(tsdb::PreparedQuery query, bool one_agent,
                                           v1::QueryMetricsResponse* resp) {
  tsdb::QueryRequest request = query.request();
  ASSIGN_OR_RETURN(tsdb::QueryResult result, QueryEngineOf().Run(std::move(query)));
  ToQueryResponse(request, std::move(result), one_agent, resp);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminServiceImpl::CreateDeployment(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateDeploymentRequest* req,
                                                             v1::CreateDeploymentResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this](const Caller& caller) -> absl::Status {
    if (deps_.rollouts == nullptr) return absl::UnavailableError("this collector runs no rollouts");
    if (!req->dry_run() && !req->spec().has_authorization()) {
      // Agents refuse every job of an unsigned deployment: say so now.
      return absl::FailedPreconditionError(
          "a deployment changes hosts and must carry a statement signed by a publisher key "
          "(stewardctl deploy create --sign-key FILE.key); every agent refuses its jobs otherwise");
    }
    if (!req->spec().artifact_sha256().empty()) {
      // The plan's hosts, to say now whether they will accept the artifact
      // (a dry run answers with this plan).
      ASSIGN_OR_RETURN(v1::Deployment plan, deps_.rollouts->Create(req->spec(), caller.who, /*dry_run=*/true));
      ASSIGN_OR_RETURN(std::vector<std::string> warnings, ArtifactTrustOfPlan(plan));
      for (std::string& w : warnings) resp->add_warnings(std::move(w));
      if (req->dry_run()) {
        *resp->mutable_deployment() = std::move(plan);
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(*resp->mutable_deployment(), deps_.rollouts->Create(req->spec(), caller.who, req->dry_run()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetDeployment(grpc::CallbackServerContext* ctx,
                                                          const v1::GetDeploymentRequest* req,
                                                          v1::GetDeploymentResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_deployment(), deps_.store->GetDeployment(req->id()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListDeployments(grpc::CallbackServerContext* ctx,
                                                            const v1::ListDeploymentsRequest* req,
                                                            v1::ListDeploymentsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    std::vector<std::string> unreadable;
    ASSIGN_OR_RETURN(std::vector<v1::Deployment> all, deps_.store->ListDeployments(&unreadable));
    for (v1::Deployment& d : all) *resp->add_deployments() = std::move(d);
    for (std::string& id : unreadable) {
      spdlog::error("deployment record {} does not parse; it is left out of deployment lists", id);
      resp->add_unreadable_ids(std::move(id));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ControlDeployment(grpc::CallbackServerContext* ctx,
                                                              const v1::ControlDeploymentRequest* req,
                                                              v1::ControlDeploymentResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this](const Caller& caller) -> absl::Status {
    if (deps_.rollouts == nullptr) return absl::UnavailableError("this collector runs no rollouts");
    ASSIGN_OR_RETURN(*resp->mutable_deployment(), deps_.rollouts->Control(req->id(), req->action(), caller.who));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListPendingMachines(grpc::CallbackServerContext* ctx,
                                                                const v1::ListPendingMachinesRequest* req,
                                                                v1::ListPendingMachinesResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListPendingMachines(resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetInstallInfo(grpc::CallbackServerContext* ctx,
                                                           const v1::GetInstallInfoRequest* req,
                                                           v1::GetInstallInfoResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this]() -> absl::Status {
    if (deps_.install == nullptr) return absl::UnavailableError("this collector serves no agent install");
    return deps_.install->Describe(resp);
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListEnrollmentTokens(grpc::CallbackServerContext* ctx,
                                                                 const v1::ListEnrollmentTokensRequest* req,
                                                                 v1::ListEnrollmentTokensResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoListTokens(resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RevokeEnrollmentToken(grpc::CallbackServerContext* ctx,
                                                                  const v1::RevokeEnrollmentTokenRequest* req,
                                                                  v1::RevokeEnrollmentTokenResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoRevokeToken(*req, resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetHostDisabled(grpc::CallbackServerContext* ctx,
                                                            const v1::SetHostDisabledRequest* req,
                                                            v1::SetHostDisabledResponse* resp) {
  return Run(ctx, __func__, req, resp,
             [=, this](const Caller& caller) { return DoSetHostDisabled(*req, caller.who, resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RemoveHost(grpc::CallbackServerContext* ctx,
                                                       const v1::RemoveHostRequest* req, v1::RemoveHostResponse* resp) {
  return Run(ctx, __func__, req, resp,
             [=, this](const Caller& caller) { return DoRemoveHost(*req, caller.who, resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::UpdateHostLabels(grpc::CallbackServerContext* ctx,
                                                             const v1::UpdateHostLabelsRequest* req,
                                                             v1::UpdateHostLabelsResponse* resp) {
  return Run(ctx, __func__, req, resp, [=, this] { return DoUpdateHostLabels(*req, resp); });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RenewHost(grpc::CallbackServerContext* ctx,
                                                      const v1::RenewHostRequest* req, v1::RenewHostResponse* resp) {
  return Run(ctx, __func__, req, resp,
             [=, this](const Caller& caller) { return DoRenewHost(*req, caller.who, resp); });
}

}  // namespace steward::collector
