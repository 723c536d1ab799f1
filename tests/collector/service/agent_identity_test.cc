// Agent identity against a real collector over real mutual TLS on
// loopback: disable, enable and rm of a host; certificate expiry (by the
// collector's injected clock, and by the TLS handshake itself); renewal
// over the stream; one session per identity; FetchArtifact only for the
// agent's own jobs; enrollment tokens listed and revoked; labels; renewal
// tokens; the stewardctl commands on top, typos included.
#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/artifact_commands.h"
#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "common/grpc/status_convert.h"
#include "common/tls/pki.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/signed_job.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using ::steward::agent::AgentIdentity;
using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;

// The collector's certificates live this long here; the test clock moves
// forward by less than kCertBackdate (5 min), so a certificate issued at a
// moved clock is already valid for the real-time TLS handshake.
constexpr absl::Duration kTtl = absl::Minutes(3);

void SetDeadline(grpc::ClientContext* ctx, absl::Duration d = absl::Seconds(10)) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d));
}

v1::AgentMessage Hello() {
  v1::AgentMessage m;
  m.mutable_hello()->set_agent_version("test-1.0");
  return m;
}

// A Connect stream with what it needs kept alive.
struct Session {
  std::unique_ptr<v1::AgentService::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream;

  // Reads until the collector ends the stream; its status, and the jobs
  // that came meanwhile in *jobs.
  grpc::Status Drain(int* jobs = nullptr) {
    v1::CollectorMessage msg;
    while (stream->Read(&msg)) {
      if (jobs != nullptr && msg.has_job()) ++*jobs;
    }
    return stream->Finish();
  }
};

class AgentIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CollectorOptions opts;
    opts.data_dir = DataDir();
    opts.listen = "127.0.0.1:0";
    opts.worker_threads = 2;
    opts.agent_cert_ttl = kTtl;
    opts.now = [this] { return absl::Now() + absl::Seconds(offset_s_.load()); };
    auto server = CollectorServer::Start(opts);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto cred = ctl::LoadAdminCredential(DataDir() + "/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    admin_ = ctl::MakeAdminStub(*cred);
  }

  std::string DataDir() const { return dir_.path() + "/data"; }
  std::string CaPem() const { return ReadFile(DataDir() + "/ca.pem").value(); }

  std::string CreateToken(std::vector<v1::Label> labels = {}, uint32_t uses = 1) {
    v1::CreateEnrollmentTokenRequest req;
    req.set_ttl_seconds(600);
    req.set_max_uses(uses);
    for (auto& l : labels) *req.add_labels() = l;
    v1::CreateEnrollmentTokenResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status st = admin_->CreateEnrollmentToken(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.token();
  }

  absl::StatusOr<AgentIdentity> Enroll(const std::string& token, const std::string& name) {
    v1::HostFacts facts;
    facts.set_hostname(name);
    return agent::EnrollAgent(server_->address(), CaPem(), token, dir_.path() + "/state-" + name, facts,
                              absl::Seconds(10));
  }

  AgentIdentity EnrollNew(const std::string& name) {
    auto id = Enroll(CreateToken(), name);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : AgentIdentity{};
  }

  // Opens a stream as `id` and sends Hello; the first message read is
  // returned in *first (false when the stream ended instead).
  void Open(const AgentIdentity& id, Session* s, v1::CollectorMessage* first, bool* got) {
    s->stub = v1::AgentService::NewStub(agent::MakeCollectorChannel(server_->address(), CaPem(), &id));
    SetDeadline(&s->ctx, absl::Seconds(15));
    s->stream = s->stub->Connect(&s->ctx);
    s->stream->Write(Hello());
    *got = s->stream->Read(first);
  }

  // Opens a session that must be welcomed.
  void Welcomed(const AgentIdentity& id, Session* s) {
    v1::CollectorMessage first;
    bool got = false;
    Open(id, s, &first, &got);
    ASSERT_TRUE(got) << s->Drain().error_message();
    ASSERT_TRUE(first.has_welcome()) << first.ShortDebugString();
  }

  // Opens a session that must be refused; the collector's status.
  grpc::Status Refused(const AgentIdentity& id) {
    Session s;
    v1::CollectorMessage first;
    bool got = false;
    Open(id, &s, &first, &got);
    EXPECT_FALSE(got && first.has_welcome()) << "welcomed";
    return s.Drain();
  }

  template <typename Req, typename Resp, typename Method>
  grpc::Status Admin(Method method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    return ((*admin_).*method)(&ctx, req, resp);
  }

  grpc::Status SetDisabled(const std::string& id, bool disabled) {
    v1::SetHostDisabledRequest req;
    req.set_agent_id(id);
    req.set_disabled(disabled);
    v1::SetHostDisabledResponse resp;
    return Admin(&v1::AdminService::Stub::SetHostDisabled, req, &resp);
  }

  // Pushes `content` unsigned; its SHA-256.
  std::string PushArtifact(const std::string& name, const std::string& content) {
    const std::string file = dir_.path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(file, content).ok());
    ctl::PushOptions o;
    o.file = file;
    o.name = name;
    o.version = "1.0";
    o.json = true;
    std::ostringstream out;
    absl::Status st = ctl::ArtifactPush(*admin_, o, out);
    EXPECT_TRUE(st.ok()) << st;
    size_t at = out.str().find("\"sha256\": \"");
    return at == std::string::npos ? "" : out.str().substr(at + 11, 64);
  }

  std::string RunInstallJob(const std::string& agent_id, const std::string& sha) {
    v1::RunJobRequest req;
    req.set_agent_id(agent_id);
    v1::JobSpec spec;
    spec.mutable_install_artifact()->set_sha256(sha);
    // Host-changing jobs carry an operator's signed statement (section 5).
    *req.mutable_spec() = agent::testing::Signed(spec, absl::ToUnixMillis(absl::Now()), agent_id);
    v1::RunJobResponse resp;
    grpc::Status st = Admin(&v1::AdminService::Stub::RunJob, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.job().spec().job_id();
  }

  // FetchArtifact as `id`: the status, after reading everything.
  grpc::Status Fetch(const AgentIdentity& id, const std::string& sha) {
    auto stub = v1::AgentService::NewStub(agent::MakeCollectorChannel(server_->address(), CaPem(), &id));
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    v1::FetchArtifactRequest req;
    req.set_sha256(sha);
    auto reader = stub->FetchArtifact(&ctx, req);
    v1::FetchArtifactResponse msg;
    while (reader->Read(&msg)) {
    }
    return reader->Finish();
  }

  absl::StatusOr<std::vector<std::string>> HostsWhere(const std::string& where) {
    v1::ListHostsRequest req;
    req.set_where(where);
    v1::ListHostsResponse resp;
    grpc::Status st = Admin(&v1::AdminService::Stub::ListHosts, req, &resp);
    if (!st.ok()) return FromGrpcStatus(st);
    std::vector<std::string> ids;
    for (const auto& h : resp.hosts()) ids.push_back(h.agent_id());
    return ids;
  }

  // stewardctl with this collector's admin.conf; exit code, output in *out.
  int Ctl(std::vector<std::string> args, std::string* out, std::string* err = nullptr) {
    args.insert(args.begin(), {"--config", DataDir() + "/admin.conf"});
    std::ostringstream o, e;
    int rc = ctl::RunStewardctl(args, "", o, e);
    *out = o.str();
    if (err != nullptr) *err = e.str();
    return rc;
  }

  testing::TempDir dir_;
  std::atomic<int64_t> offset_s_{0};
  std::unique_ptr<CollectorServer> server_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_F(AgentIdentityTest, DisableClosesTheStreamRefusesEverythingAndEnableRestores) {
  AgentIdentity id = EnrollNew("web-1");
  const std::string sha = PushArtifact("tool", "content of the tool");
  const std::string job_id = RunInstallJob(id.agent_id, sha);
  ASSERT_TRUE(Fetch(id, sha).ok());

  Session open;
  ASSERT_NO_FATAL_FAILURE(Welcomed(id, &open));
  ASSERT_TRUE(SetDisabled(id.agent_id, true).ok());
  // The open stream is closed at once, naming why (well before the 15 s deadline).
  const absl::Time start = absl::Now();
  grpc::Status closed = open.Drain();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::PERMISSION_DENIED) << closed.error_message();
  EXPECT_TRUE(absl::StrContains(closed.error_message(), "disabled")) << closed.error_message();

  // Reconnecting, downloading and reporting a job result are refused.
  grpc::Status again = Refused(id);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::PERMISSION_DENIED) << again.error_message();
  EXPECT_TRUE(absl::StrContains(again.error_message(), "is disabled")) << again.error_message();
  EXPECT_TRUE(absl::StrContains(again.error_message(), "hosts enable " + id.agent_id)) << again.error_message();
  grpc::Status fetch = Fetch(id, sha);
  EXPECT_EQ(fetch.error_code(), grpc::StatusCode::PERMISSION_DENIED) << fetch.error_message();
  {
    Session s;
    v1::CollectorMessage first;
    bool got = false;
    Open(id, &s, &first, &got);
    v1::AgentMessage result;
    result.mutable_envelope()->set_seq(1);
    result.mutable_envelope()->mutable_job_result()->set_job_id(job_id);
    result.mutable_envelope()->mutable_job_result()->set_status(v1::JOB_SUCCEEDED);
    s.stream->Write(result);
    EXPECT_EQ(s.Drain().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::ListJobsRequest jobs_req;
  jobs_req.set_agent_id(id.agent_id);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListJobs, jobs_req, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).result().status(), v1::JOB_PENDING);  // the result was not applied

  // The host list says so.
  v1::ListHostsResponse hosts;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());
  ASSERT_EQ(hosts.hosts_size(), 1);
  EXPECT_TRUE(hosts.hosts(0).disabled());
  EXPECT_FALSE(hosts.hosts(0).connected());

  ASSERT_TRUE(SetDisabled(id.agent_id, false).ok());
  Session back;
  ASSERT_NO_FATAL_FAILURE(Welcomed(id, &back));
  int pushed_jobs = 0;
  v1::CollectorMessage msg;
  // The pending job comes again after the Welcome (settings first).
  while (pushed_jobs == 0 && back.stream->Read(&msg)) pushed_jobs += msg.has_job();
  EXPECT_EQ(pushed_jobs, 1);
  EXPECT_TRUE(Fetch(id, sha).ok());
}

TEST_F(AgentIdentityTest, RemoveForgetsTheHostAndRefusesItsCertificate) {
  AgentIdentity gone = EnrollNew("old-box");
  AgentIdentity kept = EnrollNew("new-box");
  const std::string sha = PushArtifact("pkg", "bytes");
  RunInstallJob(gone.agent_id, sha);
  {
    Session s;
    ASSERT_NO_FATAL_FAILURE(Welcomed(gone, &s));
    v1::AgentMessage snap;
    snap.mutable_envelope()->set_seq(1);
    snap.mutable_envelope()->mutable_inventory_snapshot()->mutable_facts()->set_hostname("old-box");
    auto* item = snap.mutable_envelope()->mutable_inventory_snapshot()->add_items();
    item->set_source("dpkg");
    item->set_name("openssl");
    item->set_version("3.0.11");
    ASSERT_TRUE(s.stream->Write(snap));
    v1::CollectorMessage msg;
    while (s.stream->Read(&msg) && !msg.has_ack()) {
    }
    ASSERT_TRUE(msg.has_ack());
    v1::RemoveHostRequest req;
    req.set_agent_id(gone.agent_id);
    v1::RemoveHostResponse resp;
    ASSERT_TRUE(Admin(&v1::AdminService::Stub::RemoveHost, req, &resp).ok());
    EXPECT_EQ(resp.hostname(), "old-box");
    EXPECT_EQ(resp.closed_sessions(), 1u);
    EXPECT_EQ(s.Drain().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  auto ids = HostsWhere("");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<std::string>{kept.agent_id});
  v1::ListSoftwareRequest sw;
  sw.set_agent_id(gone.agent_id);
  v1::ListSoftwareResponse sw_resp;
  EXPECT_EQ(Admin(&v1::AdminService::Stub::ListSoftware, sw, &sw_resp).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListJobsRequest jobs_req;
  jobs_req.set_agent_id(gone.agent_id);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListJobs, jobs_req, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);

  grpc::Status refused = Refused(gone);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "not registered")) << refused.error_message();
  EXPECT_EQ(Fetch(gone, sha).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  Session other;
  ASSERT_NO_FATAL_FAILURE(Welcomed(kept, &other));  // the other host is untouched
}

TEST_F(AgentIdentityTest, ExpiredCertificateIsRefused) {
  AgentIdentity id = EnrollNew("late");
  auto info = InspectCert(id.cert_pem);
  ASSERT_TRUE(info.ok());
  // Issued by the collector's clock for kTtl.
  EXPECT_NEAR(info->not_after_unix - absl::ToUnixSeconds(absl::Now()), absl::ToInt64Seconds(kTtl), 5);

  // By the collector's clock: past the certificate's end (TLS, on real
  // time, still accepts it; the collector does not).
  offset_s_ = absl::ToInt64Seconds(kTtl) + 10;
  grpc::Status late = Refused(id);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAUTHENTICATED) << late.error_message();
  EXPECT_TRUE(absl::StrContains(late.error_message(), "expired")) << late.error_message();
  EXPECT_TRUE(absl::StrContains(late.error_message(), "hosts renew " + id.agent_id)) << late.error_message();
  offset_s_ = 0;

  // By the TLS handshake itself: a certificate of the collector's CA for
  // this agent that ended an hour ago never reaches the service.
  KeyAndCert ca{ReadFile(DataDir() + "/pki/ca.key").value(), CaPem()};
  auto key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = CreateCsrPem(*key, "x");
  ASSERT_TRUE(csr.ok());
  auto old = SignCsrAt(ca, *csr, "agent/" + id.agent_id, absl::Hours(1), absl::Now() - absl::Hours(3));
  ASSERT_TRUE(old.ok()) << old.status();
  AgentIdentity expired{id.agent_id, *key, *old};
  grpc::Status handshake = Refused(expired);
  EXPECT_EQ(handshake.error_code(), grpc::StatusCode::UNAVAILABLE) << handshake.error_message();
}

TEST_F(AgentIdentityTest, RenewalOverTheStreamGivesALaterCertificateAndRetiresTheOldOne) {
  AgentIdentity id = EnrollNew("renewer");
  auto old_info = InspectCert(id.cert_pem);
  ASSERT_TRUE(old_info.ok());
  offset_s_ = 140;  // a third of the lifetime left

  Session s;
  ASSERT_NO_FATAL_FAILURE(Welcomed(id, &s));
  auto key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok());
  auto csr = CreateCsrPem(*key, "renewer");
  ASSERT_TRUE(csr.ok());
  v1::AgentMessage renew;
  renew.mutable_renew_certificate()->set_csr_pem(*csr);
  ASSERT_TRUE(s.stream->Write(renew));
  v1::CollectorMessage msg;
  while (s.stream->Read(&msg) && !msg.has_renewed_certificate()) {
  }
  ASSERT_TRUE(msg.has_renewed_certificate());
  const std::string cert = msg.renewed_certificate().cert_pem();
  ASSERT_TRUE(CheckKeyMatchesCert(*key, cert).ok());
  ASSERT_TRUE(VerifyCertIssuedBy(CaPem(), cert).ok());
  auto info = InspectCert(cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "agent/" + id.agent_id);
  EXPECT_GT(info->not_after_unix, old_info->not_after_unix + 100);
  EXPECT_NE(info->serial_hex, old_info->serial_hex);
  EXPECT_EQ(msg.renewed_certificate().not_after_unix(), info->not_after_unix);
  s.ctx.TryCancel();
  s.Drain();

  // The new expiry is recorded.
  v1::ListHostsResponse hosts;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());
  ASSERT_EQ(hosts.hosts_size(), 1);
  EXPECT_EQ(hosts.hosts(0).cert_expires_unix(), info->not_after_unix);

  // The old certificate still works until the new one is used ...
  { Session again; ASSERT_NO_FATAL_FAILURE(Welcomed(id, &again)); }
  AgentIdentity renewed{id.agent_id, *key, cert};
  { Session fresh; ASSERT_NO_FATAL_FAILURE(Welcomed(renewed, &fresh)); }
  // ... then never again.
  grpc::Status old = Refused(id);
  EXPECT_EQ(old.error_code(), grpc::StatusCode::UNAUTHENTICATED) << old.error_message();
  EXPECT_TRUE(absl::StrContains(old.error_message(), "no longer valid")) << old.error_message();
  // Past the old certificate's end the renewed one is still good.
  offset_s_ = 200;
  { Session later; ASSERT_NO_FATAL_FAILURE(Welcomed(renewed, &later)); }
}

TEST_F(AgentIdentityTest, ASecondStreamReplacesTheFirstAndAJobIsDeliveredOnce) {
  AgentIdentity id = EnrollNew("twin");
  Session first;
  ASSERT_NO_FATAL_FAILURE(Welcomed(id, &first));
  Session second;
  ASSERT_NO_FATAL_FAILURE(Welcomed(id, &second));
  int first_jobs = 0;
  grpc::Status replaced = first.Drain(&first_jobs);
  EXPECT_EQ(replaced.error_code(), grpc::StatusCode::ABORTED) << replaced.error_message();
  EXPECT_TRUE(absl::StrContains(replaced.error_message(), "replaced by a newer session")) << replaced.error_message();

  const std::string sha = PushArtifact("once", "x");
  RunInstallJob(id.agent_id, sha);
  int second_jobs = 0;
  v1::CollectorMessage msg;
  while (second_jobs == 0 && second.stream->Read(&msg)) second_jobs += msg.has_job();
  EXPECT_EQ(second_jobs, 1);
  EXPECT_EQ(first_jobs, 0);
  // Two holders of one key: neither may renew for a while (the first to
  // renew would make the other's certificate invalid).
  auto key = GeneratePrivateKeyPem();
  ASSERT_TRUE(key.ok());
  v1::AgentMessage renew;
  renew.mutable_renew_certificate()->set_csr_pem(CreateCsrPem(*key, "twin").value());
  ASSERT_TRUE(second.stream->Write(renew));
  grpc::Status refused = second.Drain(&second_jobs);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "possible copy of its key")) << refused.error_message();
  EXPECT_EQ(second_jobs, 1);

  v1::ListHostsResponse hosts;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());
}

TEST_F(AgentIdentityTest, FetchArtifactOnlyForTheAgentsOwnJobs) {
  AgentIdentity mine = EnrollNew("mine");
  AgentIdentity other = EnrollNew("other");
  const std::string sha = PushArtifact("secret-tool", "not for everyone");
  grpc::Status before = Fetch(mine, sha);
  EXPECT_EQ(before.error_code(), grpc::StatusCode::PERMISSION_DENIED) << before.error_message();
  EXPECT_TRUE(absl::StrContains(before.error_message(), "no pending or recent job")) << before.error_message();
  RunInstallJob(mine.agent_id, sha);
  EXPECT_TRUE(Fetch(mine, sha).ok());
  // Another agent knowing the hash gets nothing.
  EXPECT_EQ(Fetch(other, sha).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AgentIdentityTest, TokensAreListedWithoutSecretsAndARevokedOneIsRefused) {
  const std::string token = CreateToken({}, 2);
  const std::string token_id = token.substr(0, token.find('.'));
  const std::string secret = token.substr(token.find('.') + 1);
  ASSERT_TRUE(Enroll(token, "first").ok());

  v1::ListEnrollmentTokensResponse list;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListEnrollmentTokens, v1::ListEnrollmentTokensRequest(), &list).ok());
  ASSERT_EQ(list.tokens_size(), 1);
  EXPECT_EQ(list.tokens(0).token_id(), token_id);
  EXPECT_EQ(list.tokens(0).used(), 1u);
  EXPECT_EQ(list.tokens(0).max_uses(), 2u);
  EXPECT_FALSE(list.tokens(0).revoked());
  EXPECT_FALSE(absl::StrContains(list.SerializeAsString(), secret));
  std::string out;
  ASSERT_EQ(Ctl({"token", "list"}, &out), 0);
  EXPECT_TRUE(absl::StrContains(out, token_id)) << out;
  EXPECT_TRUE(absl::StrContains(out, "1/2")) << out;
  EXPECT_TRUE(absl::StrContains(out, "active")) << out;
  EXPECT_FALSE(absl::StrContains(out, secret));

  std::string err;
  EXPECT_EQ(Ctl({"token", "revoke", token}, &out, &err), 2) << "the whole token is refused, not echoed";
  EXPECT_FALSE(absl::StrContains(err, secret)) << err;
  ASSERT_EQ(Ctl({"token", "revoke", token_id}, &out), 0) << out;
  EXPECT_EQ(Ctl({"token", "revoke", "nosuchtoken"}, &out, &err), 1);
  EXPECT_TRUE(absl::StrContains(err, "no enrollment token with id 'nosuchtoken'")) << err;

  auto refused = Enroll(token, "second");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "revoked")) << refused.status();
  ASSERT_EQ(Ctl({"--json", "token", "list"}, &out), 0);
  EXPECT_TRUE(absl::StrContains(out, "\"revoked\": true")) << out;
}

TEST_F(AgentIdentityTest, LabelsSetAndRemovedChangeTargetingAndPushedChecks) {
  AgentIdentity id = EnrollNew("labelled");
  v1::PutCheckRequest check;
  check.mutable_check()->mutable_spec()->set_name("prod-only");
  check.mutable_check()->mutable_spec()->set_type("tcp");
  (*check.mutable_check()->mutable_spec()->mutable_params())["address"] = "127.0.0.1:22";
  auto* sel = check.mutable_check()->add_selector();
  sel->set_name("env");
  sel->set_value("prod");
  v1::PutCheckResponse put;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::PutCheck, check, &put).ok());

  Session s;
  ASSERT_NO_FATAL_FAILURE(Welcomed(id, &s));
  v1::CollectorMessage msg;
  ASSERT_TRUE(s.stream->Read(&msg));
  ASSERT_TRUE(msg.has_settings());
  EXPECT_EQ(msg.settings().checks_size(), 0);

  std::string out, err;
  ASSERT_EQ(Ctl({"hosts", "label", "set", id.agent_id.substr(0, 6), "env=prod", "team=web"}, &out, &err), 0) << err;
  EXPECT_TRUE(absl::StrContains(out, "env=prod")) << out;
  ASSERT_TRUE(s.stream->Read(&msg));
  ASSERT_TRUE(msg.has_settings()) << msg.ShortDebugString();
  ASSERT_EQ(msg.settings().checks_size(), 1);
  EXPECT_EQ(msg.settings().checks(0).name(), "prod-only");
  EXPECT_EQ(HostsWhere("label:env=prod").value(), std::vector<std::string>{id.agent_id});

  ASSERT_EQ(Ctl({"hosts", "label", "rm", id.agent_id, "env"}, &out, &err), 0) << err;
  ASSERT_TRUE(s.stream->Read(&msg));
  ASSERT_TRUE(msg.has_settings());
  EXPECT_EQ(msg.settings().checks_size(), 0);
  EXPECT_TRUE(HostsWhere("label:env=prod").value().empty());
  EXPECT_EQ(HostsWhere("label:team=web").value(), std::vector<std::string>{id.agent_id});

  EXPECT_EQ(Ctl({"hosts", "label", "rm", id.agent_id, "env"}, &out, &err), 1);
  EXPECT_TRUE(absl::StrContains(err, "has no label 'env'")) << err;
  EXPECT_EQ(Ctl({"hosts", "label", "set", id.agent_id, "bad name=x"}, &out, &err), 2);
  EXPECT_EQ(Ctl({"hosts", "label", "set", id.agent_id, "novalue"}, &out, &err), 2);
}

TEST_F(AgentIdentityTest, RenewalTokenKeepsTheIdAndDataAndRetiresTheOldCertificate) {
  AgentIdentity id = EnrollNew("offline");
  std::string out, err;
  ASSERT_EQ(Ctl({"hosts", "renew", id.agent_id}, &out, &err), 0) << err;
  const std::string token(absl::StripAsciiWhitespace(out));
  auto back = Enroll(token, "offline-again");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->agent_id, id.agent_id);
  EXPECT_EQ(Refused(id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  Session s;
  ASSERT_NO_FATAL_FAILURE(Welcomed(*back, &s));
  auto ids = HostsWhere("");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 1u);  // the same host, not a second one
  // One use only.
  auto twice = Enroll(token, "offline-third");
  EXPECT_FALSE(twice.ok());
}

TEST_F(AgentIdentityTest, ADisabledAgentCannotReenrollItselfWithAnOrdinaryToken) {
  AgentIdentity id = EnrollNew("expiring");
  ASSERT_TRUE(SetDisabled(id.agent_id, true).ok());
  const std::string token = CreateToken({}, 5);  // e.g. a fleet token still in its config
  v1::HostFacts facts;
  facts.set_hostname("expiring");
  auto again = agent::EnrollAgent(server_->address(), CaPem(), token, dir_.path() + "/state-again", facts,
                                  absl::Seconds(10), id.agent_id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied) << again.status();
  EXPECT_TRUE(absl::StrContains(again.status().message(), "is disabled")) << again.status();
  EXPECT_EQ(HostsWhere("").value().size(), 1u);  // no second host appeared
  v1::ListEnrollmentTokensResponse list;
  ASSERT_TRUE(Admin(&v1::AdminService::Stub::ListEnrollmentTokens, v1::ListEnrollmentTokensRequest(), &list).ok());
  for (const auto& t : list.tokens()) {
    if (token.rfind(t.token_id(), 0) == 0) {
      EXPECT_EQ(t.used(), 0u);  // no use counted
    }
  }
  ASSERT_TRUE(SetDisabled(id.agent_id, false).ok());
  again = agent::EnrollAgent(server_->address(), CaPem(), token, dir_.path() + "/state-again", facts,
                             absl::Seconds(10), id.agent_id);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->agent_id, id.agent_id);  // an ordinary token: a new host
}

TEST_F(AgentIdentityTest, StewardctlHostCommandsNameTheirMistakes) {
  AgentIdentity id = EnrollNew("ctl-host");
  std::string out, err;
  EXPECT_EQ(Ctl({"hosts", "disable", "zzzz9999"}, &out, &err), 1);
  EXPECT_TRUE(absl::StrContains(err, "no host 'zzzz9999'")) << err;
  EXPECT_EQ(Ctl({"hosts", "disable", id.agent_id.substr(0, 2)}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "too short")) << err;
  EXPECT_EQ(Ctl({"hosts", "disabel", id.agent_id}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "unknown command 'hosts disabel")) << err;
  EXPECT_EQ(Ctl({"hosts", "disable"}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "'hosts disable' needs HOST\nsee 'stewardctl hosts disable --help'")) << err;

  ASSERT_EQ(Ctl({"hosts", "disable", id.agent_id.substr(0, 5)}, &out, &err), 0) << err;
  EXPECT_TRUE(absl::StrContains(out, "host " + id.agent_id + " disabled")) << out;
  ASSERT_EQ(Ctl({"hosts"}, &out, &err), 0);
  EXPECT_TRUE(absl::StrContains(out, "DISABLED")) << out;
  ASSERT_EQ(Ctl({"hosts", "enable", id.agent_id}, &out, &err), 0) << err;

  // rm: no terminal here, so --yes is needed.
  EXPECT_EQ(Ctl({"hosts", "rm", id.agent_id}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "--yes")) << err;
  ASSERT_EQ(HostsWhere("").value().size(), 1u);
  ASSERT_EQ(Ctl({"hosts", "rm", id.agent_id, "--yes"}, &out, &err), 0) << err;
  EXPECT_TRUE(HostsWhere("").value().empty());
  EXPECT_EQ(Ctl({"hosts", "rm", id.agent_id, "--yes"}, &out, &err), 1);
}

}  // namespace
}  // namespace steward::collector
