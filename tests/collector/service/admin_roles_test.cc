// The role table against the AdminService descriptor, and the AdminGate's
// decisions for each kind of caller (no network: PeerCredentials are built
// from certificates issued here).

#include "collector/service/admin_roles.h"

#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/service/admin_gate.h"
#include "collector/storage/store.h"
#include "common/tls/pki.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

const google::protobuf::ServiceDescriptor* AdminServiceDescriptor() {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::AdminService::service_full_name());
}

TEST(AdminRoleTable, EveryAdminServiceMethodHasExactlyOneEntry) {
  const auto* service = AdminServiceDescriptor();
  ASSERT_NE(service, nullptr);
  ASSERT_GT(service->method_count(), 20);
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* method = service->method(i);
    const AdminMethod* entry = FindAdminMethod(method->name());
    ASSERT_NE(entry, nullptr) << method->name()
                              << " has no line in kAdminMethods (collector/service/admin_roles.cc): "
                                 "every call of it would be refused";
    EXPECT_NE(entry->role, v1::ROLE_UNSPECIFIED) << method->name();
    EXPECT_TRUE(v1::Role_IsValid(entry->role)) << method->name();
    if (entry->target == nullptr) continue;
    // The target function reads the method's own messages (and an empty
    // response, as for a refused call) without tripping over their types.
    auto* factory = google::protobuf::MessageFactory::generated_factory();
    const google::protobuf::Message* req = factory->GetPrototype(method->input_type());
    const google::protobuf::Message* resp = factory->GetPrototype(method->output_type());
    ASSERT_NE(req, nullptr);
    ASSERT_NE(resp, nullptr);
    EXPECT_EQ(entry->target(*req, *resp), "") << method->name() << ": empty messages name no target";
  }
  std::set<std::string> seen;
  for (const AdminMethod& entry : AdminMethods()) {
    EXPECT_NE(service->FindMethodByName(entry.name), nullptr)
        << entry.name << " is in the role table but not in AdminService";
    EXPECT_TRUE(seen.insert(entry.name).second) << entry.name << " is in the role table twice";
  }
}

// A cross-check of the `mutates` column by the verbs of the method names.
TEST(AdminRoleTable, ChangingVerbsAreAuditedAndReadsAreNot) {
  for (const AdminMethod& entry : AdminMethods()) {
    const std::string name = entry.name;
    const bool reads = absl::StartsWith(name, "List") || absl::StartsWith(name, "Get") ||
                       absl::StartsWith(name, "Query") || absl::StartsWith(name, "Verify");
    EXPECT_EQ(entry.mutates, !reads) << name;
    if (entry.mutates) {
      EXPECT_NE(entry.role, v1::ROLE_VIEWER) << name << " changes things: not for viewers";
    }
  }
}

TEST(AdminRoleTable, PeopleAndTheAuditTrailAreForAdminsOnly) {
  for (const char* m : {"AddUser", "ListUsers", "RemoveUser", "RotateUser", "ListAuditRecords", "VerifyAudit"}) {
    ASSERT_NE(FindAdminMethod(m), nullptr) << m;
    EXPECT_EQ(FindAdminMethod(m)->role, v1::ROLE_ADMIN) << m;
  }
  EXPECT_EQ(FindAdminMethod("CreateEnrollmentToken")->role, v1::ROLE_OPERATOR);
  EXPECT_EQ(FindAdminMethod("ListHosts")->role, v1::ROLE_VIEWER);
}

TEST(AdminRoleTable, TargetsNameWhatTheCallIsAbout) {
  v1::RunJobRequest job;
  job.set_agent_id("a1");
  v1::RunJobResponse job_resp;
  job_resp.mutable_job()->mutable_spec()->set_job_id("job-7");
  EXPECT_EQ(FindAdminMethod("RunJob")->target(job, job_resp), "job:a1/job-7");
  EXPECT_EQ(FindAdminMethod("RunJob")->target(job, v1::RunJobResponse()), "host:a1");
  v1::CreateEnrollmentTokenResponse token;
  token.set_token_id("t1");
  EXPECT_EQ(FindAdminMethod("CreateEnrollmentToken")->target(v1::CreateEnrollmentTokenRequest(), token), "token:t1");
  v1::DeleteCheckRequest check;
  check.set_name("nginx");
  EXPECT_EQ(FindAdminMethod("DeleteCheck")->target(check, v1::DeleteCheckResponse()), "check:nginx");
  v1::PushArtifactRequest push;
  push.mutable_header()->set_sha256("ab12");
  EXPECT_EQ(FindAdminMethod("PushArtifact")->target(push, v1::PushArtifactResponse()), "artifact:ab12");
}

TEST(Roles, AreOrderedAndNamed) {
  EXPECT_TRUE(RoleAllows(v1::ROLE_ADMIN, v1::ROLE_OPERATOR));
  EXPECT_TRUE(RoleAllows(v1::ROLE_OPERATOR, v1::ROLE_VIEWER));
  EXPECT_TRUE(RoleAllows(v1::ROLE_VIEWER, v1::ROLE_VIEWER));
  EXPECT_FALSE(RoleAllows(v1::ROLE_VIEWER, v1::ROLE_OPERATOR));
  EXPECT_FALSE(RoleAllows(v1::ROLE_OPERATOR, v1::ROLE_ADMIN));
  EXPECT_FALSE(RoleAllows(v1::ROLE_UNSPECIFIED, v1::ROLE_VIEWER));
  EXPECT_FALSE(RoleAllows(v1::ROLE_ADMIN, v1::ROLE_UNSPECIFIED));
  v1::Role r;
  ASSERT_TRUE(ParseRole("operator", &r));
  EXPECT_EQ(r, v1::ROLE_OPERATOR);
  EXPECT_FALSE(ParseRole("none", &r));
  EXPECT_FALSE(ParseRole("Admin", &r));
  EXPECT_EQ(RoleName(v1::ROLE_VIEWER), "viewer");
}

// The gate with a real store and certificates from a test CA.
class AdminGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(tmp_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto ca = CreateSelfSignedCa("gate test CA", absl::Hours(1));
    ASSERT_TRUE(ca.ok());
    ca_ = *ca;
    deps_.store = store_.get();
    gate_ = std::make_unique<AdminGate>(deps_);
  }
  // A peer presenting a fresh certificate with CN `cn`; its serial in *serial.
  PeerCredential Peer(const std::string& cn, std::string* serial = nullptr) {
    auto cert = IssueClientCert(ca_, cn, absl::Hours(1));
    EXPECT_TRUE(cert.ok());
    PeerCredential p;
    p.verified = true;
    p.common_name = cn;
    p.cert_pem = cert->cert_pem;
    p.address = "ipv4:10.0.0.9:4242";
    if (serial != nullptr) *serial = InspectCert(cert->cert_pem)->serial_hex;
    return p;
  }
  void AddUser(const std::string& name, v1::Role role, const std::string& serial) {
    internal::UserRecord u;
    u.mutable_user()->set_name(name);
    u.mutable_user()->set_role(role);
    u.mutable_user()->set_cert_serial(serial);
    ASSERT_TRUE(store_->CreateUser(u).ok());
  }

  steward::testing::TempDir tmp_;
  std::unique_ptr<Store> store_;
  KeyAndCert ca_;
  ServiceDeps deps_;
  std::unique_ptr<AdminGate> gate_;
};

TEST_F(AdminGateTest, ViewerMayReadButNotChangeAndTheRefusalNamesBothRoles) {
  std::string serial;
  PeerCredential viewer = Peer("user/vera", &serial);
  AddUser("vera", v1::ROLE_VIEWER, serial);
  Caller caller;
  EXPECT_TRUE(gate_->Check(viewer, "ListHosts", &caller).ok());
  EXPECT_EQ(caller.who, "user/vera");
  EXPECT_EQ(caller.role, v1::ROLE_VIEWER);
  absl::Status st = gate_->Check(viewer, "CreateDeployment", &caller);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "CreateDeployment needs role operator; user/vera has role viewer");
}

TEST_F(AdminGateTest, MethodMissingFromTheTableIsDeniedEvenToAnAdmin) {
  Caller caller;
  absl::Status st = gate_->Check(Peer("admin/admin"), "SelfDestruct", &caller);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(st.message(), "role table")) << st.message();
}

TEST_F(AdminGateTest, UnknownUserReplacedCertificateAndAgentCertificateAreDenied) {
  Caller caller;
  EXPECT_EQ(gate_->Check(Peer("user/ghost"), "ListHosts", &caller).code(), absl::StatusCode::kPermissionDenied);
  std::string serial;
  PeerCredential current = Peer("user/olga", &serial);
  AddUser("olga", v1::ROLE_OPERATOR, serial);
  EXPECT_TRUE(gate_->Check(current, "RunJob", &caller).ok());
  absl::Status st = gate_->Check(Peer("user/olga"), "ListHosts", &caller);  // same CN, other serial
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(st.message(), "no longer valid")) << st.message();
  st = gate_->Check(Peer("agent/abc"), "ListHosts", &caller);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(caller.who, "agent/abc");
  PeerCredential anonymous;
  EXPECT_EQ(gate_->Check(anonymous, "ListHosts", &caller).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AdminGateTest, RefusalsAndChangesAreRecordedButReadsAreNot) {
  std::string serial;
  PeerCredential viewer = Peer("user/vera", &serial);
  AddUser("vera", v1::ROLE_VIEWER, serial);
  Caller caller;
  v1::DeleteCheckRequest del;
  del.set_name("nginx");
  EXPECT_FALSE(gate_->Admit(viewer, "DeleteCheck", del, v1::DeleteCheckResponse(), &caller).ok());
  EXPECT_TRUE(gate_->Admit(viewer, "ListHosts", v1::ListHostsRequest(), v1::ListHostsResponse(), &caller).ok());
  EXPECT_TRUE(gate_->Finish(caller, viewer, "ListHosts", v1::ListHostsRequest(), v1::ListHostsResponse(),
                            absl::OkStatus()).ok());
  Caller admin{"admin/admin", v1::ROLE_ADMIN};
  EXPECT_EQ(gate_->Finish(admin, Peer("admin/admin"), "DeleteCheck", del, v1::DeleteCheckResponse(),
                          absl::NotFoundError("no pushed check named 'nginx'")).code(),
            absl::StatusCode::kNotFound);
  // Anonymous refusals are not recorded.
  EXPECT_TRUE(gate_->Admit(PeerCredential(), "DeleteCheck", del, v1::DeleteCheckResponse(), &caller).code() ==
              absl::StatusCode::kUnauthenticated);

  bool truncated = false;
  auto records = store_->ListAudit(0, nullptr, 100, &truncated);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  const internal::AuditRecord& refusal = (*records)[0].record;
  EXPECT_EQ(refusal.who(), "user/vera");
  EXPECT_EQ(refusal.role(), v1::ROLE_VIEWER);
  EXPECT_EQ(refusal.method(), "DeleteCheck");
  EXPECT_EQ(refusal.target(), "check:nginx");
  EXPECT_EQ(refusal.peer(), "ipv4:10.0.0.9:4242");
  EXPECT_EQ(refusal.code(), static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(refusal.refused());
  const internal::AuditRecord& failed = (*records)[1].record;
  EXPECT_EQ(failed.who(), "admin/admin");
  EXPECT_EQ(failed.code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_FALSE(failed.refused());
  EXPECT_EQ(failed.message(), "no pushed check named 'nginx'");
}

TEST_F(AdminGateTest, HugeOrMalformedRequestFieldsAreCutAndTheRecordStillReadsBack) {
  std::string serial;
  PeerCredential viewer = Peer("user/vera", &serial);
  AddUser("vera", v1::ROLE_VIEWER, serial);
  v1::DeleteCheckRequest del;
  del.set_name(std::string("\xff") + std::string(1 << 20, 'x'));
  Caller caller;
  EXPECT_FALSE(gate_->Admit(viewer, "DeleteCheck", del, v1::DeleteCheckResponse(), &caller).ok());
  bool truncated = false;
  auto records = store_->ListAudit(0, nullptr, 10, &truncated);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  const std::string& target = records->front().record.target();
  EXPECT_LE(target.size(), 600u);
  EXPECT_TRUE(absl::StartsWith(target, "check:\xEF\xBF\xBDxxx")) << target.substr(0, 20);
  EXPECT_TRUE(absl::EndsWith(target, "more bytes)")) << target.substr(target.size() - 30);
  auto verified = store_->VerifyAudit();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->intact) << verified->problem;
}

TEST_F(AdminGateTest, ACallerRefusedOverAndOverIsRecordedAtABoundedRateWithACount) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  deps_.now = [&now] { return now; };
  gate_ = std::make_unique<AdminGate>(deps_);
  PeerCredential agent = Peer("agent/stolen");
  Caller caller;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(gate_->Admit(agent, "ListHosts", v1::ListHostsRequest(), v1::ListHostsResponse(), &caller).code(),
              absl::StatusCode::kPermissionDenied);
  }
  now += absl::Seconds(1);
  EXPECT_FALSE(gate_->Admit(agent, "ListHosts", v1::ListHostsRequest(), v1::ListHostsResponse(), &caller).ok());
  bool truncated = false;
  auto records = store_->ListAudit(0, nullptr, 1000, &truncated);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), static_cast<size_t>(RefusalLimiter::kCallerBurst) + 1);
  EXPECT_EQ(records->front().record.unrecorded_refusals(), 0u);
  EXPECT_EQ(records->back().record.unrecorded_refusals(), 100u - 20u);
  EXPECT_EQ(records->back().record.who(), "agent/stolen");
}

}  // namespace
}  // namespace steward::collector
