// Roles, personal credentials and the audit trail on a real collector over
// mutual TLS on loopback: users of each role issued through AdminService
// (keys made here, as stewardctl does), calls refused and let through, the
// audit records they leave, and a trail edited on disk while the collector
// was down.

#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/ctl/admin_client.h"
#include "collector/service/collector_server.h"
#include "common/build_info/build_info.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/tls/pki.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "tests/collector/storage/audit_trail_test.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using ::testing::HasSubstr;

void SetDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

// Calls `method` on `stub` with a deadline.
template <typename Req, typename Resp, typename Method>
grpc::Status Call(v1::AdminService::Stub& stub, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  return (stub.*method)(&ctx, req, resp);
}

// A collector of its own in a temporary directory, restartable on the same
// data (to edit its database while it is down).
class AdminAccessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartCollector()); }

  void StartCollector() {
    CollectorOptions opts;
    opts.data_dir = DataDir();
    opts.listen = "127.0.0.1:0";
    opts.worker_threads = 2;
    auto server = CollectorServer::Start(opts);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto cred = ctl::LoadAdminCredential(DataDir() + "/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    admin_cred_ = *cred;
    admin_ = ctl::MakeAdminStub(admin_cred_);
  }
  void StopCollector() {
    admin_.reset();
    server_.reset();
  }

  std::string DataDir() const { return dir_.path() + "/data"; }

  // Adds user `name` with `role` through the admin; its credential.
  ctl::AdminCredential AddUser(const std::string& name, v1::Role role) {
    auto key = GeneratePrivateKeyPem();
    EXPECT_TRUE(key.ok());
    v1::AddUserRequest req;
    req.set_name(name);
    req.set_role(role);
    req.set_csr_pem(CreateCsrPem(*key, "anything: the collector sets the CN").value());
    v1::AddUserResponse resp;
    grpc::Status st = Call(*admin_, &v1::AdminService::Stub::AddUser, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(InspectCert(resp.cert_pem()).value().common_name, "user/" + name);
    EXPECT_EQ(resp.user().cert_serial(), InspectCert(resp.cert_pem()).value().serial_hex);
    return {server_->address(), resp.ca_pem(), resp.cert_pem(), *key};
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> Audit(const std::string& user = "") {
    v1::ListAuditRecordsRequest req;
    req.set_user(user);
    v1::ListAuditRecordsResponse resp;
    grpc::Status st = Call(*admin_, &v1::AdminService::Stub::ListAuditRecords, req, &resp);
    if (!st.ok()) return absl::InternalError(st.error_message());
    return std::vector<v1::AuditEntry>(resp.records().begin(), resp.records().end());
  }

  v1::VerifyAuditResponse Verify() {
    v1::VerifyAuditResponse resp;
    grpc::Status st = Call(*admin_, &v1::AdminService::Stub::VerifyAudit, v1::VerifyAuditRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  steward::testing::TempDir dir_;
  std::unique_ptr<CollectorServer> server_;
  ctl::AdminCredential admin_cred_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

v1::PutCheckRequest Check(const std::string& name) {
  v1::PutCheckRequest req;
  v1::CheckSpec* spec = req.mutable_check()->mutable_spec();
  spec->set_name(name);
  spec->set_type("tcp");
  (*spec->mutable_params())["address"] = "127.0.0.1:22";
  return req;
}

TEST_F(AdminAccessTest, GetVersionAnswersEveryRoleWithTheBuildAndStartTime) {
  const int64_t started_before = absl::ToUnixMillis(absl::Now());
  StopCollector();
  ASSERT_NO_FATAL_FAILURE(StartCollector());
  const int64_t started_after = absl::ToUnixMillis(absl::Now());
  const BuildInfo& build = GetBuildInfo();
  auto viewer = ctl::MakeAdminStub(AddUser("vic", v1::ROLE_VIEWER));
  auto op = ctl::MakeAdminStub(AddUser("otto", v1::ROLE_OPERATOR));
  for (v1::AdminService::Stub* stub : {viewer.get(), op.get(), admin_.get()}) {
    v1::GetVersionResponse resp;
    grpc::Status st = Call(*stub, &v1::AdminService::Stub::GetVersion, v1::GetVersionRequest(), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.version(), build.version);
    EXPECT_FALSE(resp.version().empty());
    EXPECT_EQ(resp.git_commit(), build.git_commit);
    EXPECT_EQ(resp.build_type(), build.build_type);
    EXPECT_EQ(resp.protocol_version(), kProtocolVersion);
    EXPECT_GE(resp.started_unix_ms(), started_before);
    EXPECT_LE(resp.started_unix_ms(), started_after);
  }
  // A read: nothing in the trail.
  auto audit = Audit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  for (const v1::AuditEntry& e : *audit) EXPECT_NE(e.method(), "GetVersion");
}

TEST_F(AdminAccessTest, ViewerReadsButEveryChangeIsRefusedLeavesNoTraceAndIsAudited) {
  auto viewer = ctl::MakeAdminStub(AddUser("vera", v1::ROLE_VIEWER));
  v1::ListHostsResponse hosts;
  grpc::Status st = Call(*viewer, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts);
  EXPECT_TRUE(st.ok()) << st.error_message();

  v1::CreateDeploymentRequest deploy;
  deploy.mutable_spec()->set_apt_package("openssl=3.0.13-1");
  deploy.mutable_spec()->set_target("label:env=prod");
  v1::CreateDeploymentResponse deployed;
  st = Call(*viewer, &v1::AdminService::Stub::CreateDeployment, deploy, &deployed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "CreateDeployment needs role operator; user/vera has role viewer");
  EXPECT_TRUE(deployed.deployment().id().empty());

  v1::RunJobRequest job;
  job.set_agent_id("some-host");
  job.mutable_spec()->mutable_restart_service()->set_unit("nginx.service");
  v1::RunJobResponse ran;
  st = Call(*viewer, &v1::AdminService::Stub::RunJob, job, &ran);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("RunJob needs role operator"));

  v1::PutCheckResponse put;
  st = Call(*viewer, &v1::AdminService::Stub::PutCheck, Check("sshd"), &put);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::CreateEnrollmentTokenResponse token;
  st = Call(*viewer, &v1::AdminService::Stub::CreateEnrollmentToken, v1::CreateEnrollmentTokenRequest(), &token);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(token.token().empty());

  // Nothing was stored.
  v1::ListDeploymentsResponse deployments;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListDeployments, v1::ListDeploymentsRequest(), &deployments).ok());
  EXPECT_EQ(deployments.deployments_size(), 0);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListJobs, v1::ListJobsRequest(), &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);
  v1::ListChecksResponse checks;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListChecks, v1::ListChecksRequest(), &checks).ok());
  EXPECT_EQ(checks.checks_size(), 0);

  // Each refusal is in the trail; the read is not.
  auto records = Audit("vera");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 4u);
  const std::vector<std::string> methods = {"CreateDeployment", "RunJob", "PutCheck", "CreateEnrollmentToken"};
  const std::vector<std::string> targets = {"target:label:env=prod", "host:some-host", "check:sshd", ""};
  for (size_t i = 0; i < records->size(); ++i) {
    const v1::AuditEntry& e = (*records)[i];
    EXPECT_EQ(e.method(), methods[i]);
    EXPECT_EQ(e.target(), targets[i]) << e.method();
    EXPECT_EQ(e.who(), "user/vera");
    EXPECT_EQ(e.role(), v1::ROLE_VIEWER);
    EXPECT_EQ(e.code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(e.refused());
    EXPECT_TRUE(absl::StartsWith(e.peer(), "ipv4:127.0.0.1:")) << e.peer();
    EXPECT_GT(e.time_ms(), 0);
  }
  EXPECT_TRUE(Verify().intact());
}

TEST_F(AdminAccessTest, OperatorCreatesATokenButCannotAddAUserOrReadTheAudit) {
  auto op = ctl::MakeAdminStub(AddUser("otto", v1::ROLE_OPERATOR));
  v1::CreateEnrollmentTokenResponse token;
  grpc::Status st = Call(*op, &v1::AdminService::Stub::CreateEnrollmentToken, v1::CreateEnrollmentTokenRequest(), &token);
  ASSERT_TRUE(st.ok()) << st.error_message();

  auto key = GeneratePrivateKeyPem().value();
  v1::AddUserRequest add;
  add.set_name("mallory");
  add.set_role(v1::ROLE_ADMIN);
  add.set_csr_pem(CreateCsrPem(key, "x").value());
  v1::AddUserResponse added;
  st = Call(*op, &v1::AdminService::Stub::AddUser, add, &added);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "AddUser needs role admin; user/otto has role operator");
  EXPECT_TRUE(added.cert_pem().empty());
  v1::ListUsersResponse users;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListUsers, v1::ListUsersRequest(), &users).ok());
  ASSERT_EQ(users.users_size(), 1);
  EXPECT_EQ(users.users(0).name(), "otto");
  EXPECT_EQ(users.users(0).created_by(), "admin/admin");

  v1::ListAuditRecordsResponse audit;
  st = Call(*op, &v1::AdminService::Stub::ListAuditRecords, v1::ListAuditRecordsRequest(), &audit);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  auto records = Audit("otto");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].method(), "CreateEnrollmentToken");
  EXPECT_EQ((*records)[0].target(), "token:" + token.token_id());
  EXPECT_EQ((*records)[0].code(), 0);
  EXPECT_FALSE((*records)[0].refused());
  EXPECT_EQ((*records)[1].method(), "AddUser");
  EXPECT_EQ((*records)[1].target(), "user:mallory");
  EXPECT_TRUE((*records)[1].refused());
  EXPECT_EQ((*records)[2].method(), "ListAuditRecords");
  EXPECT_TRUE((*records)[2].refused());
}

TEST_F(AdminAccessTest, RemovedUsersCredentialIsRefusedOnItsOpenConnection) {
  auto op = ctl::MakeAdminStub(AddUser("rita", v1::ROLE_OPERATOR));
  v1::ListHostsResponse hosts;
  ASSERT_TRUE(Call(*op, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());
  v1::RemoveUserRequest rm;
  rm.set_name("rita");
  v1::RemoveUserResponse removed;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::RemoveUser, rm, &removed).ok());
  // Same stub, same TLS connection: the next call is refused.
  grpc::Status st = Call(*op, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("user 'rita' does not exist"));
  v1::CreateEnrollmentTokenResponse token;
  st = Call(*op, &v1::AdminService::Stub::CreateEnrollmentToken, v1::CreateEnrollmentTokenRequest(), &token);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(*admin_, &v1::AdminService::Stub::RemoveUser, rm, &removed).error_code(), grpc::StatusCode::NOT_FOUND);

  auto records = Audit();
  ASSERT_TRUE(records.ok());
  ASSERT_GE(records->size(), 4u);
  const v1::AuditEntry* last = &records->back() - 3;
  EXPECT_EQ(last[0].method(), "RemoveUser");
  EXPECT_EQ(last[0].who(), "admin/admin");
  EXPECT_EQ(last[0].target(), "user:rita");
  EXPECT_EQ(last[0].code(), 0);
  for (const v1::AuditEntry* e : {&last[1], &last[2]}) {
    EXPECT_EQ(e->who(), "user/rita");
    EXPECT_EQ(e->role(), v1::ROLE_UNSPECIFIED);
    EXPECT_TRUE(e->refused());
  }
  EXPECT_EQ(last[1].method(), "ListHosts");  // a refused read is recorded too
  EXPECT_EQ(last[2].method(), "CreateEnrollmentToken");
  EXPECT_EQ(last[3].method(), "RemoveUser");
  EXPECT_EQ(last[3].code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminAccessTest, RotationRefusesTheOldCertificateAndAcceptsTheNewOne) {
  ctl::AdminCredential old_cred = AddUser("ron", v1::ROLE_VIEWER);
  auto old_stub = ctl::MakeAdminStub(old_cred);
  v1::ListHostsResponse hosts;
  ASSERT_TRUE(Call(*old_stub, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());

  std::string key = GeneratePrivateKeyPem().value();
  v1::RotateUserRequest rotate;
  rotate.set_name("ron");
  rotate.set_csr_pem(CreateCsrPem(key, "ron").value());
  v1::RotateUserResponse rotated;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::RotateUser, rotate, &rotated).ok());
  EXPECT_EQ(rotated.user().role(), v1::ROLE_VIEWER);
  EXPECT_GT(rotated.user().rotated_ms(), 0);

  grpc::Status st = Call(*old_stub, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("no longer valid"));
  auto new_stub = ctl::MakeAdminStub({server_->address(), rotated.ca_pem(), rotated.cert_pem(), key});
  st = Call(*new_stub, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// Whoever holds the CA key can mint any CN; the serial check still refuses
// what the collector did not issue to that name (a stolen CA key is a
// bigger problem, but a leaked old certificate is not).
TEST_F(AdminAccessTest, CertificatesWithTheRightNameButNotTheIssuedSerialAreRefused) {
  AddUser("vera", v1::ROLE_ADMIN);
  KeyAndCert ca{ReadFile(DataDir() + "/pki/ca.key").value(), ReadFile(DataDir() + "/ca.pem").value()};
  for (const std::string cn : {"admin/admin", "user/vera"}) {
    KeyAndCert minted = IssueClientCert(ca, cn, absl::Hours(1)).value();
    auto stub = ctl::MakeAdminStub({server_->address(), ca.cert_pem, minted.cert_pem, minted.key_pem});
    v1::ListHostsResponse hosts;
    grpc::Status st = Call(*stub, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << cn;
  }
}

// docs/operations.md: remove pki/admin.{key,crt} and restart to replace the
// bootstrap credential; the old admin.conf is then refused.
TEST_F(AdminAccessTest, ReplacedBootstrapCredentialIsRefused) {
  ctl::AdminCredential old_admin = admin_cred_;
  StopCollector();
  ASSERT_EQ(::unlink((DataDir() + "/pki/admin.key").c_str()), 0);
  ASSERT_EQ(::unlink((DataDir() + "/pki/admin.crt").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(StartCollector());
  old_admin.collector = server_->address();
  auto old_stub = ctl::MakeAdminStub(old_admin);
  v1::ListHostsResponse hosts;
  grpc::Status st = Call(*old_stub, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("not the collector's current bootstrap credential"));
  EXPECT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());
}

TEST_F(AdminAccessTest, UserNamesRolesAndCsrsAreValidated) {
  std::string key = GeneratePrivateKeyPem().value();
  std::string csr = CreateCsrPem(key, "x").value();
  auto add = [&](const std::string& name, v1::Role role, const std::string& csr_pem) {
    v1::AddUserRequest req;
    req.set_name(name);
    req.set_role(role);
    req.set_csr_pem(csr_pem);
    v1::AddUserResponse resp;
    return Call(*admin_, &v1::AdminService::Stub::AddUser, req, &resp).error_code();
  };
  EXPECT_EQ(add("Bad Name", v1::ROLE_VIEWER, csr), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add("a/b", v1::ROLE_VIEWER, csr), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add(std::string(65, 'a'), v1::ROLE_VIEWER, csr), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add("ok", v1::ROLE_UNSPECIFIED, csr), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add("ok", static_cast<v1::Role>(9), csr), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add("ok", v1::ROLE_VIEWER, "not a csr"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(add("ok", v1::ROLE_VIEWER, csr), grpc::StatusCode::OK);
  EXPECT_EQ(add("ok", v1::ROLE_VIEWER, csr), grpc::StatusCode::ALREADY_EXISTS);
  v1::ListUsersResponse users;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListUsers, v1::ListUsersRequest(), &users).ok());
  EXPECT_EQ(users.users_size(), 1);
}

// PushArtifact is a stream with a reactor of its own: the same gate.
TEST_F(AdminAccessTest, ArtifactPushesAreGatedAndAuditedLikeUnaryCalls) {
  const std::string content = "steward audit test artifact";
  v1::PushArtifactRequest header;
  header.mutable_header()->set_name("demo");
  header.mutable_header()->set_version("1.0");
  header.mutable_header()->set_size(content.size());
  header.mutable_header()->set_sha256(Sha256Hex(content));
  v1::PushArtifactRequest chunk;
  chunk.set_chunk(content);
  auto push = [&](v1::AdminService::Stub& stub, v1::PushArtifactResponse* resp) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto writer = stub.PushArtifact(&ctx, resp);
    writer->Write(header);
    writer->Write(chunk);
    writer->WritesDone();
    return writer->Finish();
  };
  auto viewer = ctl::MakeAdminStub(AddUser("vera", v1::ROLE_VIEWER));
  v1::PushArtifactResponse resp;
  grpc::Status st = push(*viewer, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "PushArtifact needs role operator; user/vera has role viewer");
  v1::ListArtifactsResponse artifacts;
  ASSERT_TRUE(Call(*admin_, &v1::AdminService::Stub::ListArtifacts, v1::ListArtifactsRequest(), &artifacts).ok());
  EXPECT_EQ(artifacts.artifacts_size(), 0);

  auto op = ctl::MakeAdminStub(AddUser("otto", v1::ROLE_OPERATOR));
  grpc::Status pushed = push(*op, &resp);
  EXPECT_TRUE(pushed.ok()) << pushed.error_message();
  EXPECT_EQ(resp.artifact().sha256(), Sha256Hex(content));

  auto records = Audit();
  ASSERT_TRUE(records.ok());
  ASSERT_GE(records->size(), 2u);
  const v1::AuditEntry& refused = (*records)[1];  // after AddUser vera
  EXPECT_EQ(refused.method(), "PushArtifact");
  EXPECT_EQ(refused.who(), "user/vera");
  EXPECT_TRUE(refused.refused());
  const v1::AuditEntry& done = records->back();
  EXPECT_EQ(done.method(), "PushArtifact");
  EXPECT_EQ(done.who(), "user/otto");
  EXPECT_EQ(done.target(), "artifact:" + Sha256Hex(content));
  EXPECT_EQ(done.code(), pushed.error_code()) << pushed.error_message();
  EXPECT_EQ(done.message(), pushed.error_message());
  EXPECT_FALSE(done.refused());
}

TEST_F(AdminAccessTest, AuditTrailAttributesEachChangeAndNamesTheRecordEditedOnDisk) {
  auto op = ctl::MakeAdminStub(AddUser("otto", v1::ROLE_OPERATOR));
  v1::CreateEnrollmentTokenResponse token;
  ASSERT_TRUE(Call(*op, &v1::AdminService::Stub::CreateEnrollmentToken, v1::CreateEnrollmentTokenRequest(), &token).ok());
  v1::PutCheckResponse put;
  ASSERT_TRUE(Call(*op, &v1::AdminService::Stub::PutCheck, Check("sshd"), &put).ok());
  v1::DeleteCheckRequest del;
  del.set_name("sshd");
  v1::DeleteCheckResponse deleted;
  ASSERT_TRUE(Call(*op, &v1::AdminService::Stub::DeleteCheck, del, &deleted).ok());
  grpc::Status st = Call(*op, &v1::AdminService::Stub::DeleteCheck, del, &deleted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::DeleteArtifactRequest art;
  art.set_sha256(std::string(64, 'a'));
  v1::DeleteArtifactResponse art_resp;
  EXPECT_EQ(Call(*op, &v1::AdminService::Stub::DeleteArtifact, art, &art_resp).error_code(),
            grpc::StatusCode::NOT_FOUND);

  auto records = Audit();
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 6u);  // AddUser by the admin, then otto's five
  struct Want {
    const char* who;
    const char* method;
    std::string target;
    int code;
  };
  const std::vector<Want> want = {
      {"admin/admin", "AddUser", "user:otto", 0},
      {"user/otto", "CreateEnrollmentToken", "token:" + token.token_id(), 0},
      {"user/otto", "PutCheck", "check:sshd", 0},
      {"user/otto", "DeleteCheck", "check:sshd", 0},
      {"user/otto", "DeleteCheck", "check:sshd", grpc::StatusCode::NOT_FOUND},
      {"user/otto", "DeleteArtifact", "artifact:" + std::string(64, 'a'), grpc::StatusCode::NOT_FOUND},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    const v1::AuditEntry& e = (*records)[i];
    EXPECT_EQ(e.seq(), i + 1);
    EXPECT_EQ(e.who(), want[i].who) << i;
    EXPECT_EQ(e.method(), want[i].method) << i;
    EXPECT_EQ(e.target(), want[i].target) << i;
    EXPECT_EQ(e.code(), want[i].code) << i;
    EXPECT_FALSE(e.refused()) << i;
    if (i > 0) {
      EXPECT_EQ(e.prev_sha256(), (*records)[i - 1].sha256()) << i;
    }
  }
  EXPECT_THAT((*records)[4].message(), HasSubstr("no pushed check named 'sshd'"));

  v1::VerifyAuditResponse v = Verify();
  EXPECT_TRUE(v.intact()) << v.problem();
  EXPECT_EQ(v.records(), 6u);
  EXPECT_EQ(v.head_sha256(), records->back().sha256());

  // Down, one byte of record 3 (PutCheck) changed in RocksDB, up again.
  StopCollector();
  ASSERT_TRUE(testing::EditAuditRaw(DataDir() + "/db", [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, testing::AuditKey(3), &value).ok());
    size_t at = value.find("sshd");
    ASSERT_NE(at, std::string::npos);
    value[at] = 'S';
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, testing::AuditKey(3), value).ok());
  }));
  ASSERT_NO_FATAL_FAILURE(StartCollector());
  v = Verify();
  EXPECT_FALSE(v.intact());
  EXPECT_EQ(v.first_bad_seq(), 3u) << v.problem();
  EXPECT_EQ(v.records(), 2u);
  EXPECT_THAT(v.problem(), HasSubstr("record 3 was altered"));

  // A record deleted instead: exactly that one is named.
  StopCollector();
  ASSERT_TRUE(testing::EditAuditRaw(DataDir() + "/db", [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), cf, testing::AuditKey(2)).ok());
  }));
  ASSERT_NO_FATAL_FAILURE(StartCollector());
  v = Verify();
  EXPECT_FALSE(v.intact());
  EXPECT_EQ(v.first_bad_seq(), 2u) << v.problem();
  EXPECT_THAT(v.problem(), HasSubstr("record 2 is missing"));
}

}  // namespace
}  // namespace steward::collector
