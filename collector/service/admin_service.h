#pragma once
// AdminService on the gRPC callback API: the one implementation of every ops
// query. Each call goes through one AdminGate (admin_gate.h): the caller's
// certificate and role are checked against the method's line in the role
// table (admin_roles.cc), refusals and mutating calls are recorded in the
// audit trail. Calls run on the WorkQueue; a small QueryMetrics (see
// QueryMetrics) runs on the gRPC thread instead.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/message_allocator.h"
#include "collector/artifacts/artifact_trust.h"
#include "collector/service/admin_gate.h"
#include "collector/service/service_deps.h"
#include "collector/tsdb/query/query_engine.h"
#include "common/glob.h"
#include "steward/internal/records.pb.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::collector {

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  explicit AdminServiceImpl(ServiceDeps deps) : deps_(std::move(deps)), gate_(deps_) {
    SetMessageAllocatorFor_QueryMetrics(&query_messages_);
  }

  grpc::ServerUnaryReactor* CreateEnrollmentToken(grpc::CallbackServerContext* ctx,
                                                  const v1::CreateEnrollmentTokenRequest* req,
                                                  v1::CreateEnrollmentTokenResponse* resp) override;
  grpc::ServerUnaryReactor* ListHosts(grpc::CallbackServerContext* ctx, const v1::ListHostsRequest* req,
                                      v1::ListHostsResponse* resp) override;
  grpc::ServerUnaryReactor* ListSoftware(grpc::CallbackServerContext* ctx,
                                         const v1::ListSoftwareRequest* req,
                                         v1::ListSoftwareResponse* resp) override;
  grpc::ServerUnaryReactor* ListMetricNames(grpc::CallbackServerContext* ctx,
                                            const v1::ListMetricNamesRequest* req,
                                            v1::ListMetricNamesResponse* resp) override;
  grpc::ServerUnaryReactor* QueryMetrics(grpc::CallbackServerContext* ctx,
                                         const v1::QueryMetricsRequest* req,
                                         v1::QueryMetricsResponse* resp) override;

  grpc::ServerReadReactor<v1::PushArtifactRequest>* PushArtifact(grpc::CallbackServerContext* ctx,
                                                                 v1::PushArtifactResponse* resp) override;
  grpc::ServerUnaryReactor* GetArtifact(grpc::CallbackServerContext* ctx, const v1::GetArtifactRequest* req,
                                        v1::GetArtifactResponse* resp) override;
  grpc::ServerUnaryReactor* ListArtifacts(grpc::CallbackServerContext* ctx, const v1::ListArtifactsRequest* req,
                                          v1::ListArtifactsResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteArtifact(grpc::CallbackServerContext* ctx, const v1::DeleteArtifactRequest* req,
                                           v1::DeleteArtifactResponse* resp) override;

  grpc::ServerUnaryReactor* RunJob(grpc::CallbackServerContext* ctx, const v1::RunJobRequest* req,
                                   v1::RunJobResponse* resp) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest* req,
                                     v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* CreateDeployment(grpc::CallbackServerContext* ctx,
                                             const v1::CreateDeploymentRequest* req,
                                             v1::CreateDeploymentResponse* resp) override;
  grpc::ServerUnaryReactor* GetDeployment(grpc::CallbackServerContext* ctx, const v1::GetDeploymentRequest* req,
                                          v1::GetDeploymentResponse* resp) override;
  grpc::ServerUnaryReactor* ListDeployments(grpc::CallbackServerContext* ctx, const v1::ListDeploymentsRequest* req,
                                            v1::ListDeploymentsResponse* resp) override;
  grpc::ServerUnaryReactor* ControlDeployment(grpc::CallbackServerContext* ctx,
                                              const v1::ControlDeploymentRequest* req,
                                              v1::ControlDeploymentResponse* resp) override;

  grpc::ServerUnaryReactor* ListChanges(grpc::CallbackServerContext* ctx, const v1::ListChangesRequest* req,
                                        v1::ListChangesResponse* resp) override;

  grpc::ServerUnaryReactor* ListHealth(grpc::CallbackServerContext* ctx, const v1::ListHealthRequest* req,
                                       v1::ListHealthResponse* resp) override;
  grpc::ServerUnaryReactor* ListServices(grpc::CallbackServerContext* ctx, const v1::ListServicesRequest* req,
                                         v1::ListServicesResponse* resp) override;
  grpc::ServerUnaryReactor* CompactMetrics(grpc::CallbackServerContext* ctx,
                                           const v1::CompactMetricsRequest* req,
                                           v1::CompactMetricsResponse* resp) override;
  grpc::ServerUnaryReactor* PutCheck(grpc::CallbackServerContext* ctx, const v1::PutCheckRequest* req,
                                     v1::PutCheckResponse* resp) override;
  grpc::ServerUnaryReactor* ListChecks(grpc::CallbackServerContext* ctx, const v1::ListChecksRequest* req,
                                       v1::ListChecksResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteCheck(grpc::CallbackServerContext* ctx, const v1::DeleteCheckRequest* req,
                                        v1::DeleteCheckResponse* resp) override;

  // People and the audit trail (admin_service_people.cc).
  grpc::ServerUnaryReactor* AddUser(grpc::CallbackServerContext* ctx, const v1::AddUserRequest* req,
                                    v1::AddUserResponse* resp) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* ctx, const v1::ListUsersRequest* req,
                                      v1::ListUsersResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveUser(grpc::CallbackServerContext* ctx, const v1::RemoveUserRequest* req,
                                       v1::RemoveUserResponse* resp) override;
  grpc::ServerUnaryReactor* RotateUser(grpc::CallbackServerContext* ctx, const v1::RotateUserRequest* req,
                                       v1::RotateUserResponse* resp) override;
  grpc::ServerUnaryReactor* ListAuditRecords(grpc::CallbackServerContext* ctx,
                                             const v1::ListAuditRecordsRequest* req,
                                             v1::ListAuditRecordsResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyAudit(grpc::CallbackServerContext* ctx, const v1::VerifyAuditRequest* req,
                                        v1::VerifyAuditResponse* resp) override;
  // Agent identity (admin_identity.cc).
  grpc::ServerUnaryReactor* ListEnrollmentTokens(grpc::CallbackServerContext* ctx,
                                                 const v1::ListEnrollmentTokensRequest* req,
                                                 v1::ListEnrollmentTokensResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeEnrollmentToken(grpc::CallbackServerContext* ctx,
                                                  const v1::RevokeEnrollmentTokenRequest* req,
                                                  v1::RevokeEnrollmentTokenResponse* resp) override;
  grpc::ServerUnaryReactor* SetHostDisabled(grpc::CallbackServerContext* ctx, const v1::SetHostDisabledRequest* req,
                                            v1::SetHostDisabledResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveHost(grpc::CallbackServerContext* ctx, const v1::RemoveHostRequest* req,
                                       v1::RemoveHostResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateHostLabels(grpc::CallbackServerContext* ctx, const v1::UpdateHostLabelsRequest* req,
                                             v1::UpdateHostLabelsResponse* resp) override;
  grpc::ServerUnaryReactor* RenewHost(grpc::CallbackServerContext* ctx, const v1::RenewHostRequest* req,
                                      v1::RenewHostResponse* resp) override;
  // The collector's build and start time (common/build_info).
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* ctx, const v1::GetVersionRequest* req,
                                       v1::GetVersionResponse* resp) override;
  // A backup into a directory on this host (collector/backup/).
  grpc::ServerUnaryReactor* BackupCollector(grpc::CallbackServerContext* ctx,
                                            const v1::BackupCollectorRequest* req,
                                            v1::BackupCollectorResponse* resp) override;
  grpc::ServerUnaryReactor* GetInstallInfo(grpc::CallbackServerContext* ctx, const v1::GetInstallInfoRequest* req,
                                           v1::GetInstallInfoResponse* resp) override;
  grpc::ServerUnaryReactor* ListPendingMachines(grpc::CallbackServerContext* ctx,
                                                const v1::ListPendingMachinesRequest* req,
                                                v1::ListPendingMachinesResponse* resp) override;

  // Lifetime of a renewal token without ttl_seconds.
  static constexpr absl::Duration kRenewalTokenTtl = absl::Hours(24);

  // Most points one QueryMetrics answer may carry.
  static constexpr size_t kMaxQueryPoints = 500000;
  // Largest query run on the gRPC thread that received it, in series times
  // hours of range (rounded up): five series over 12 h (60) is, with 10 s
  // samples, about 22,000 samples to decode, well under a millisecond.
  static constexpr int64_t kInlineSeriesHours = 64;

 private:
  // QueryMetrics' request and response on one protobuf arena per call: an
  // answer of thousands of series with their labels is freed at once, not
  // string by string (which also left malloc consolidating for the calls
  // after it).
  class ArenaQueryMessages final
      : public grpc::MessageAllocator<v1::QueryMetricsRequest, v1::QueryMetricsResponse> {
   public:
    grpc::MessageHolder<v1::QueryMetricsRequest, v1::QueryMetricsResponse>* AllocateMessages() override;
  };
  ArenaQueryMessages query_messages_;

  // The one way into a unary call: on the WorkQueue, admits the caller for
  // `method` (AdminGate::Admit: identity, role, refusals audited), runs
  // `fn` (given the Caller when it takes one), records the outcome of a
  // mutating method and finishes the call. A caller without a verified
  // certificate is refused at once on the gRPC thread. `method` is the
  // handler's __func__, the RPC's name.
  template <typename Req, typename Resp, typename Fn>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx, const char* method, const Req* req, Resp* resp,
                                Fn fn);
  // Runs `fn` on the WorkQueue and finishes `reactor` with its status, or
  // finishes it UNAVAILABLE when the queue is full.
  template <typename Fn>
  void Submit(grpc::ServerUnaryReactor* reactor, Fn fn);

  // One agent (NOT_FOUND if unknown) or, for an empty id, all of them.
  absl::StatusOr<std::vector<internal::AgentRecord>> SelectAgents(const std::string& agent_id);
  // A request's name glob (common/glob.h); nullopt for an empty pattern,
  // INVALID_ARGUMENT naming a broken one.
  static absl::StatusOr<std::optional<Glob>> NameFilter(const std::string& pattern);
  // What the collector knows of the host's publisher keys (artifact_trust.h).
  HostTrust HostTrustOf(const internal::AgentRecord& rec);
  // CheckArtifactTrust for an artifact deployment's planned hosts.
  absl::StatusOr<std::vector<std::string>> ArtifactTrustOfPlan(const v1::Deployment& plan);
  // Fills `hostnames` with agent id -> host name for every job's host
  // (empty for a host removed since).
  absl::Status AddHostnames(const google::protobuf::RepeatedPtrField<v1::Job>& jobs,
                            google::protobuf::Map<std::string, std::string>* hostnames);
  absl::Status DoCreateToken(const v1::CreateEnrollmentTokenRequest& req,
                             v1::CreateEnrollmentTokenResponse* resp);
  absl::Status DoListHosts(const v1::ListHostsRequest& req, v1::ListHostsResponse* resp);
  absl::Status DoListSoftware(const v1::ListSoftwareRequest& req, v1::ListSoftwareResponse* resp);
  absl::Status DoListMetricNames(const v1::ListMetricNamesRequest& req,
                                 v1::ListMetricNamesResponse* resp);
  absl::Status DoListHealth(const v1::ListHealthRequest& req, v1::ListHealthResponse* resp);
  absl::Status DoListServices(const v1::ListServicesRequest& req, v1::ListServicesResponse* resp);
  absl::Status DoPutCheck(const v1::PutCheckRequest& req, v1::PutCheckResponse* resp);
  absl::Status DoDeleteCheck(const v1::DeleteCheckRequest& req);
  // Sends every open session the pushed checks that now apply to it.
  absl::StatusOr<uint32_t> PushSettingsToSessions();
  absl::Status DoListChanges(const v1::ListChangesRequest& req, v1::ListChangesResponse* resp);
  // Agent identity (admin_identity.cc); `by` is the calling admin.
  absl::Status DoListTokens(v1::ListEnrollmentTokensResponse* resp);
  absl::Status DoListPendingMachines(v1::ListPendingMachinesResponse* resp);
  absl::Status DoRevokeToken(const v1::RevokeEnrollmentTokenRequest& req, v1::RevokeEnrollmentTokenResponse* resp);
  absl::Status DoSetHostDisabled(const v1::SetHostDisabledRequest& req, const std::string& by,
                                 v1::SetHostDisabledResponse* resp);
  absl::Status DoRemoveHost(const v1::RemoveHostRequest& req, const std::string& by, v1::RemoveHostResponse* resp);
  absl::Status DoUpdateHostLabels(const v1::UpdateHostLabelsRequest& req, v1::UpdateHostLabelsResponse* resp);
  absl::Status DoRenewHost(const v1::RenewHostRequest& req, const std::string& by, v1::RenewHostResponse* resp);
  void DoGetVersion(v1::GetVersionResponse* resp) const;
  // QueryMetrics in steps (see QueryMetrics for where each runs): the
  // engine's request for `req` (its agent checked), the engine, whether the
  // query is one to prepare on the gRPC thread and then to run there too,
  // and the answer of a prepared query into `resp`.
  absl::StatusOr<tsdb::QueryRequest> QueryRequestOf(const v1::QueryMetricsRequest& req);
  tsdb::QueryEngine QueryEngineOf();
  static bool SelectsByExactLabel(const tsdb::QueryRequest& query);
  static bool SmallEnoughToRunInline(const tsdb::PreparedQuery& query);
  absl::Status AnswerQuery(tsdb::PreparedQuery query, bool one_agent, v1::QueryMetricsResponse* resp);

  // admin_service_people.cc
  absl::Status DoAddUser(const Caller& caller, const v1::AddUserRequest& req, v1::AddUserResponse* resp);
  absl::Status DoRotateUser(const v1::RotateUserRequest& req, v1::RotateUserResponse* resp);
  absl::Status DoListAudit(const v1::ListAuditRecordsRequest& req, v1::ListAuditRecordsResponse* resp);
  absl::Status DoVerifyAudit(v1::VerifyAuditResponse* resp);

  ServiceDeps deps_;
  AdminGate gate_;
};

}  // namespace steward::collector
