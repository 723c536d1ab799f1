#include "collector/service/admin_roles.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace steward::collector {
namespace {

using google::protobuf::Message;

// `m` as a T; T's empty instance when it is another type (a refused call
// has an empty response; tests call every target with every type).
template <typename T>
const T& As(const Message& m) {
  const T* t = google::protobuf::DynamicCastToGenerated<T>(&m);
  return t != nullptr ? *t : T::default_instance();
}

std::string Kind(absl::string_view kind, absl::string_view id) {
  return id.empty() ? std::string() : absl::StrCat(kind, ":", id);
}

// Targets named by one request field.
template <typename Req>
std::string HostOf(const Message& req, const Message&) {
  return Kind("host", As<Req>(req).agent_id());
}
template <typename Req>
std::string ArtifactOf(const Message& req, const Message&) {
  return Kind("artifact", As<Req>(req).sha256());
}
template <typename Req>
std::string DeploymentOf(const Message& req, const Message&) {
  return Kind("deployment", As<Req>(req).id());
}
template <typename Req>
std::string UserOf(const Message& req, const Message&) {
  return Kind("user", As<Req>(req).name());
}

std::string RevokeTokenTarget(const Message& req, const Message&) {
  return Kind("token", As<v1::RevokeEnrollmentTokenRequest>(req).token_id());
}
std::string TokenTarget(const Message&, const Message& resp) {
  return Kind("token", As<v1::CreateEnrollmentTokenResponse>(resp).token_id());
}
std::string PutCheckTarget(const Message& req, const Message&) {
  return Kind("check", As<v1::PutCheckRequest>(req).check().spec().name());
}
std::string DeleteCheckTarget(const Message& req, const Message&) {
  return Kind("check", As<v1::DeleteCheckRequest>(req).name());
}
// PushArtifact's reactor passes a request holding the stream's header.
std::string PushTarget(const Message& req, const Message& resp) {
  const std::string& stored = As<v1::PushArtifactResponse>(resp).artifact().sha256();
  return Kind("artifact", stored.empty() ? As<v1::PushArtifactRequest>(req).header().sha256() : stored);
}
std::string RunJobTarget(const Message& req, const Message& resp) {
  const auto& r = As<v1::RunJobRequest>(req);
  const std::string& job_id = As<v1::RunJobResponse>(resp).job().spec().job_id();
  const std::string& id = job_id.empty() ? r.spec().job_id() : job_id;
  if (id.empty()) return Kind("host", r.agent_id());
  return absl::StrCat("job:", r.agent_id(), "/", id);
}
std::string CreateDeploymentTarget(const Message& req, const Message& resp) {
  const std::string& id = As<v1::CreateDeploymentResponse>(resp).deployment().id();
  if (!id.empty()) return Kind("deployment", id);
  return Kind("target", As<v1::CreateDeploymentRequest>(req).spec().target());
}

std::string BackupTarget(const Message& req, const Message&) {
  return Kind("backup", As<v1::BackupCollectorRequest>(req).path());
}

constexpr v1::Role kViewer = v1::ROLE_VIEWER;
constexpr v1::Role kOperator = v1::ROLE_OPERATOR;
constexpr v1::Role kAdmin = v1::ROLE_ADMIN;
constexpr bool kMutates = true;
constexpr bool kReads = false;

// THE table. Keep it in admin.proto's order; a new RPC gets one line.
constexpr AdminMethod kAdminMethods[] = {
    {"CreateEnrollmentToken", kOperator, kMutates, TokenTarget},
    {"ListHosts", kViewer, kReads, nullptr},
    {"ListSoftware", kViewer, kReads, HostOf<v1::ListSoftwareRequest>},
    {"ListMetricNames", kViewer, kReads, HostOf<v1::ListMetricNamesRequest>},
    {"QueryMetrics", kViewer, kReads, HostOf<v1::QueryMetricsRequest>},
    // Rewrites the time-series files (retention runs): maintenance, audited.
    {"CompactMetrics", kOperator, kMutates, nullptr},
    {"ListChanges", kViewer, kReads, HostOf<v1::ListChangesRequest>},
    {"ListHealth", kViewer, kReads, HostOf<v1::ListHealthRequest>},
    {"ListServices", kViewer, kReads, HostOf<v1::ListServicesRequest>},
    {"PutCheck", kOperator, kMutates, PutCheckTarget},
    {"ListChecks", kViewer, kReads, nullptr},
    {"DeleteCheck", kOperator, kMutates, DeleteCheckTarget},
    {"PushArtifact", kOperator, kMutates, PushTarget},
    {"GetArtifact", kViewer, kReads, ArtifactOf<v1::GetArtifactRequest>},
    {"ListArtifacts", kViewer, kReads, nullptr},
    {"DeleteArtifact", kOperator, kMutates, ArtifactOf<v1::DeleteArtifactRequest>},
    {"RunJob", kOperator, kMutates, RunJobTarget},
    {"ListJobs", kViewer, kReads, HostOf<v1::ListJobsRequest>},
    // A dry run changes nothing but is audited like the real thing.
    {"CreateDeployment", kOperator, kMutates, CreateDeploymentTarget},
    {"GetDeployment", kViewer, kReads, DeploymentOf<v1::GetDeploymentRequest>},
    {"ListDeployments", kViewer, kReads, nullptr},
    {"ControlDeployment", kOperator, kMutates, DeploymentOf<v1::ControlDeploymentRequest>},
    {"AddUser", kAdmin, kMutates, UserOf<v1::AddUserRequest>},
    {"ListUsers", kAdmin, kReads, nullptr},
    {"RemoveUser", kAdmin, kMutates, UserOf<v1::RemoveUserRequest>},
    {"RotateUser", kAdmin, kMutates, UserOf<v1::RotateUserRequest>},
    // Who did what is itself sensitive (names, hosts, addresses): admins only.
    {"ListAuditRecords", kAdmin, kReads, nullptr},
    {"VerifyAudit", kAdmin, kReads, nullptr},
    // Agent identity (admin_identity.cc). Token ids are not secret.
    {"ListEnrollmentTokens", kOperator, kReads, nullptr},
    {"RevokeEnrollmentToken", kOperator, kMutates, RevokeTokenTarget},
    {"SetHostDisabled", kOperator, kMutates, HostOf<v1::SetHostDisabledRequest>},
    // Destroys a host's data: admins only.
    {"RemoveHost", kAdmin, kMutates, HostOf<v1::RemoveHostRequest>},
    {"UpdateHostLabels", kOperator, kMutates, HostOf<v1::UpdateHostLabelsRequest>},
    {"RenewHost", kOperator, kMutates, HostOf<v1::RenewHostRequest>},
    // What a caller needs to report a problem: every role.
    {"GetVersion", kViewer, kReads, nullptr},
    // Copies every secret the collector has (CA key, credentials): admins only.
    {"BackupCollector", kAdmin, kMutates, BackupTarget},
    {"GetInstallInfo", kOperator, kReads, nullptr},
    {"ListPendingMachines", kViewer, kReads, nullptr},
};

}  // namespace

const AdminMethod* FindAdminMethod(absl::string_view method) {
  auto it = std::find_if(std::begin(kAdminMethods), std::end(kAdminMethods),
                         [&](const AdminMethod& m) { return method == m.name; });
  return it == std::end(kAdminMethods) ? nullptr : &*it;
}

absl::Span<const AdminMethod> AdminMethods() { return kAdminMethods; }

bool RoleAllows(v1::Role have, v1::Role need) {
  return need != v1::ROLE_UNSPECIFIED && static_cast<int>(have) >= static_cast<int>(need);
}

std::string RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return "viewer";
    case v1::ROLE_OPERATOR: return "operator";
    case v1::ROLE_ADMIN: return "admin";
    default: return "none";
  }
}

bool ParseRole(absl::string_view name, v1::Role* role) {
  for (v1::Role r : {v1::ROLE_VIEWER, v1::ROLE_OPERATOR, v1::ROLE_ADMIN}) {
    if (name == RoleName(r)) {
      *role = r;
      return true;
    }
  }
  return false;
}

}  // namespace steward::collector
