// In-process tests of the collector's gRPC surface: a real CollectorServer
// on 127.0.0.1:0 in a temporary data directory, real TLS, a real agent
// enrollment and real Connect streams from a synchronous client.

#include "collector/service/collector_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/session/agent_runner.h"
#include "agent/session/identity.h"
#include "agent/session/outbox.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/commands.h"
#include "collector/service/session_registry.h"
#include "common/file_util.h"
#include "common/grpc/status_convert.h"
#include "common/tls/pki.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"
#include "tests/collector/service/running_agent.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

void SetDeadline(grpc::ClientContext* ctx, absl::Duration d = absl::Seconds(10)) {
  ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d));
}

v1::AgentMessage HelloMessage(const std::string& digest = "") {
  v1::AgentMessage m;
  m.mutable_hello()->set_agent_version("test-1.0");
  m.mutable_hello()->add_capabilities("metrics.v1");
  m.mutable_hello()->set_inventory_digest(digest);
  return m;
}

v1::AgentMessage MetricEnvelope(uint64_t seq, const std::string& metric,
                                const std::vector<int64_t>& times) {
  v1::AgentMessage m;
  v1::Envelope* env = m.mutable_envelope();
  env->set_seq(seq);
  env->set_created_ms(times.empty() ? 0 : times.back());
  v1::Series* s = env->mutable_metric_batch()->add_series();
  s->set_name(metric);
  auto* l = s->add_labels();
  l->set_name("cpu");
  l->set_value("0");
  for (int64_t t : times) {
    auto* p = s->add_points();
    p->set_time_ms(t);
    p->set_value(static_cast<double>(t % 1000) / 4);
  }
  return m;
}

// Reads until the server ends the stream and returns its status.
grpc::Status DrainAndFinish(Stream* stream) {
  v1::CollectorMessage ignored;
  while (stream->Read(&ignored)) {
  }
  return stream->Finish();
}

// An agent's Connect stream past Hello and Welcome, with what it needs kept
// alive (stub, context).
struct AgentSession {
  std::unique_ptr<v1::AgentService::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream;
  v1::Welcome welcome;

  // Half-closes, reads to the end and returns the server's status.
  grpc::Status Close() {
    stream->WritesDone();
    return DrainAndFinish(stream.get());
  }
};

// Opens a Connect stream on `channel`, sends Hello (with `digest`) and reads
// the Welcome. Call under ASSERT_NO_FATAL_FAILURE.
void OpenSession(const std::shared_ptr<grpc::Channel>& channel, AgentSession* s,
                 const std::string& digest = "") {
  s->stub = v1::AgentService::NewStub(channel);
  SetDeadline(&s->ctx);
  s->stream = s->stub->Connect(&s->ctx);
  ASSERT_TRUE(s->stream->Write(HelloMessage(digest)));
  v1::CollectorMessage msg;
  ASSERT_TRUE(s->stream->Read(&msg));
  ASSERT_TRUE(msg.has_welcome()) << msg.ShortDebugString();
  s->welcome = msg.welcome();
}

// One collector for the whole suite (starting one costs key generation);
// every test enrolls its own agents, so tests do not see each other's data.
class CollectorServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    CollectorOptions opts;
    opts.data_dir = dir_->path() + "/data";
    opts.listen = "127.0.0.1:0";
    opts.worker_threads = 2;
    auto server = CollectorServer::Start(opts);
    if (!server.ok()) {
      start_error_ = new std::string(server.status().ToString());
      return;
    }
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
    auto cred = ctl::LoadAdminCredential(DataDir() + "/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    admin_cred_ = *cred;
    admin_ = ctl::MakeAdminStub(admin_cred_);
  }

  static std::string DataDir() { return dir_->path() + "/data"; }
  static std::string CaPem() { return ReadFile(DataDir() + "/ca.pem").value(); }

  v1::CreateEnrollmentTokenResponse CreateToken(uint32_t uses = 1,
                                                std::vector<v1::Label> labels = {}) {
    v1::CreateEnrollmentTokenRequest req;
    req.set_ttl_seconds(600);
    req.set_max_uses(uses);
    for (auto& l : labels) *req.add_labels() = l;
    v1::CreateEnrollmentTokenResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status st = admin_->CreateEnrollmentToken(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  absl::StatusOr<agent::AgentIdentity> Enroll(const std::string& token, const std::string& name) {
    v1::HostFacts facts;
    facts.set_hostname(name);
    facts.set_os_id("debian");
    return agent::EnrollAgent(server_->address(), CaPem(), token, dir_->path() + "/state-" + name,
                              facts, absl::Seconds(10));
  }

  agent::AgentIdentity EnrollNew(const std::string& name) {
    auto id = Enroll(CreateToken().token(), name);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : agent::AgentIdentity{};
  }

  std::unique_ptr<v1::AgentService::Stub> AgentStub(const agent::AgentIdentity* id) {
    return v1::AgentService::NewStub(agent::MakeCollectorChannel(server_->address(), CaPem(), id));
  }

  // OpenSession as `id` on this suite's collector.
  void ConnectAndHello(const agent::AgentIdentity& id, AgentSession* s,
                       const std::string& digest = "") {
    OpenSession(agent::MakeCollectorChannel(server_->address(), CaPem(), &id), s, digest);
  }

  // Connects as `id`, sends `envelopes` (seq 1..n) and waits until the last
  // is acked, then closes the stream.
  void SendAndAwaitAcks(const agent::AgentIdentity& id,
                        const std::vector<v1::AgentMessage>& envelopes) {
    AgentSession s;
    ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &s));
    for (const v1::AgentMessage& m : envelopes) ASSERT_TRUE(s.stream->Write(m));
    uint64_t acked = 0;
    v1::CollectorMessage msg;
    while (acked < envelopes.size() && s.stream->Read(&msg)) {
      if (msg.has_ack()) acked = msg.ack().seq();
    }
    ASSERT_EQ(acked, envelopes.size());
    EXPECT_TRUE(s.Close().ok());
  }

  absl::StatusOr<v1::QueryMetricsResponse> QueryMetrics(const std::string& agent_id,
                                                        const std::string& metric, int64_t start_ms,
                                                        int64_t end_ms) {
    v1::QueryMetricsRequest req;
    req.set_agent_id(agent_id);
    req.set_metric(metric);
    req.set_start_ms(start_ms);
    req.set_end_ms(end_ms);
    v1::QueryMetricsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status st = admin_->QueryMetrics(&ctx, req, &resp);
    if (!st.ok()) return FromGrpcStatus(st);
    return resp;
  }

  absl::StatusOr<v1::ListHostsResponse> ListHosts() {
    v1::ListHostsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status st = admin_->ListHosts(&ctx, v1::ListHostsRequest(), &resp);
    if (!st.ok()) return FromGrpcStatus(st);
    return resp;
  }

  static testing::TempDir* dir_;
  static CollectorServer* server_;
  static std::string* start_error_;
  ctl::AdminCredential admin_cred_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

testing::TempDir* CollectorServerTest::dir_ = nullptr;
CollectorServer* CollectorServerTest::server_ = nullptr;
std::string* CollectorServerTest::start_error_ = nullptr;

TEST_F(CollectorServerTest, StartWritesDataDirectoryWithPrivateModes) {
  EXPECT_TRUE(absl::StartsWith(server_->address(), "127.0.0.1:")) << server_->address();
  EXPECT_NE(server_->address(), "127.0.0.1:0");
  EXPECT_EQ(FileMode(DataDir()), 0700);
  EXPECT_EQ(FileMode(DataDir() + "/pki"), 0700);
  EXPECT_EQ(FileMode(DataDir() + "/admin.conf"), 0600);
  EXPECT_EQ(FileMode(DataDir() + "/pki/ca.key"), 0600);
  EXPECT_EQ(FileMode(DataDir() + "/pki/server.key"), 0600);
  EXPECT_EQ(FileMode(DataDir() + "/pki/admin.key"), 0600);
  EXPECT_TRUE(FileExists(DataDir() + "/db"));

  std::string ca = CaPem();
  EXPECT_TRUE(absl::StrContains(ca, "-----BEGIN CERTIFICATE-----"));
  auto info = InspectCert(ca);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_ca);

  // admin.conf names this server and carries the CA and an admin/ certificate.
  EXPECT_EQ(admin_cred_.collector, server_->address());
  EXPECT_EQ(admin_cred_.ca_pem, ca);
  EXPECT_TRUE(VerifyCertIssuedBy(ca, admin_cred_.cert_pem).ok());
  EXPECT_TRUE(CheckKeyMatchesCert(admin_cred_.key_pem, admin_cred_.cert_pem).ok());
  auto admin_info = InspectCert(admin_cred_.cert_pem);
  ASSERT_TRUE(admin_info.ok());
  EXPECT_TRUE(absl::StartsWith(admin_info->common_name, "admin/")) << admin_info->common_name;
}

TEST_F(CollectorServerTest, EnrollIssuesAgentCertificateAndStoresIdentity) {
  v1::Label label;
  label.set_name("env");
  label.set_value("prod");
  auto token = CreateToken(1, {label});
  EXPECT_TRUE(absl::StartsWith(token.token(), token.token_id() + ".")) << token.token();
  EXPECT_GT(token.expires_unix(), absl::ToUnixSeconds(absl::Now()) + 500);

  auto id = Enroll("  " + token.token() + "\n", "web-1");  // pasted with whitespace
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_FALSE(id->agent_id.empty());
  auto info = InspectCert(id->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "agent/" + id->agent_id);
  EXPECT_FALSE(info->is_ca);
  EXPECT_TRUE(VerifyCertIssuedBy(CaPem(), id->cert_pem).ok());

  std::string state = dir_->path() + "/state-web-1";
  EXPECT_EQ(FileMode(state + "/agent.key"), 0600);
  auto loaded = agent::LoadIdentity(state);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->agent_id, id->agent_id);
  EXPECT_EQ(loaded->cert_pem, id->cert_pem);

  // The host is listed with its enrollment facts and the token's labels.
  auto hosts = ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  const v1::Host* host = nullptr;
  for (const auto& h : hosts->hosts()) {
    if (h.agent_id() == id->agent_id) host = &h;
  }
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->facts().hostname(), "web-1");
  ASSERT_EQ(host->labels_size(), 1);
  EXPECT_EQ(host->labels(0).name(), "env");
  EXPECT_EQ(host->labels(0).value(), "prod");
  EXPECT_FALSE(host->connected());

  // The single-use token is spent.
  auto again = Enroll(token.token(), "web-2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(again.status().message(), "used up")) << again.status();
}

TEST_F(CollectorServerTest, EnrollWithWrongTokenIsUnauthenticated) {
  auto token = CreateToken();
  std::string wrong_secret = token.token_id() + ".00000000";
  for (const std::string& bad :
       {wrong_secret, std::string("deadbeef.cafe"), std::string("no-dot-here"), std::string(""),
        std::string("a.b.c"), std::string(".x")}) {
    auto id = Enroll(bad, "intruder");
    ASSERT_FALSE(id.ok()) << "'" << bad << "' enrolled";
    EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated) << bad << ": " << id.status();
    EXPECT_TRUE(absl::StrContains(id.status().message(), server_->address())) << id.status();
    EXPECT_FALSE(FileExists(dir_->path() + "/state-intruder/agent.id"));
  }
  // The real token still works: failed attempts did not use it up.
  EXPECT_TRUE(Enroll(token.token(), "legit").ok());
}

TEST_F(CollectorServerTest, ConnectHelloEnvelopeAckAndIdempotentResend) {
  agent::AgentIdentity id = EnrollNew("stream-1");
  ASSERT_FALSE(id.agent_id.empty());
  int64_t now = absl::ToUnixMillis(absl::Now());
  std::vector<int64_t> times = {now - 3000, now - 2000, now - 1000};
  {
    AgentSession session;
    ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &session));
    EXPECT_EQ(session.welcome.agent_id(), id.agent_id);
    EXPECT_EQ(session.welcome.last_applied_seq(), 0u);
    Stream* stream = session.stream.get();
    // Then the pushed settings (no checks assigned here).
    v1::CollectorMessage msg;
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_settings()) << msg.ShortDebugString();
    EXPECT_EQ(msg.settings().checks_size(), 0);

    // While the stream is open the host shows as connected.
    auto hosts = ListHosts();
    ASSERT_TRUE(hosts.ok()) << hosts.status();
    bool connected = false;
    for (const auto& h : hosts->hosts()) {
      if (h.agent_id() == id.agent_id) {
        connected = h.connected();
        EXPECT_EQ(h.agent_version(), "test-1.0");
      }
    }
    EXPECT_TRUE(connected);

    ASSERT_TRUE(stream->Write(MetricEnvelope(1, "host_load1", times)));
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_ack()) << msg.ShortDebugString();
    EXPECT_EQ(msg.ack().seq(), 1u);

    // A resend of seq 1 (the agent did not see the ack) is acked again...
    ASSERT_TRUE(stream->Write(MetricEnvelope(1, "host_load1", {now - 500})));
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_ack()) << msg.ShortDebugString();
    EXPECT_EQ(msg.ack().seq(), 1u);

    grpc::Status st = session.Close();
    EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
  }
  // ...but not applied twice.
  auto q = QueryMetrics(id.agent_id, "host_load1", now - 60000, now + 60000);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->series_size(), 1);
  const auto& s = q->series(0);
  ASSERT_EQ(s.points_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.points(i).time_ms(), times[static_cast<size_t>(i)]);
    EXPECT_EQ(s.points(i).value(), static_cast<double>(times[static_cast<size_t>(i)] % 1000) / 4);
  }
  ASSERT_EQ(s.labels_size(), 1);
  EXPECT_EQ(s.labels(0).name(), "cpu");

  // A new stream is welcomed with the applied sequence.
  AgentSession again;
  ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &again));
  EXPECT_EQ(again.welcome.last_applied_seq(), 1u);
  EXPECT_TRUE(again.Close().ok());
}

// A check stored while agents connect: whatever the interleaving, the last
// settings each agent gets hold every check (a session's first settings,
// read just before a change, must not arrive after the change's push).
TEST_F(CollectorServerTest, LastSettingsAnAgentGetsHoldEveryCheckStoredWhileItConnected) {
  constexpr int kAgents = 4, kRounds = 12;
  v1::Label label;  // the checks select these agents only (the suite shares one collector)
  label.set_name("suite");
  label.set_value("settings-race");
  std::vector<agent::AgentIdentity> ids;
  for (int i = 0; i < kAgents; ++i) {
    auto id = Enroll(CreateToken(1, {label}).token(), absl::StrCat("settings-race-", i));
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    // Each round the agents connect at once and one more check is stored,
    // a little later every round (0-11 ms), so that the push meets the
    // sessions at different points of their opening.
    std::vector<AgentSession> sessions(kAgents);
    std::vector<std::thread> threads;
    for (int i = 0; i < kAgents; ++i) {
      threads.emplace_back([&, i] { ConnectAndHello(ids[static_cast<size_t>(i)], &sessions[static_cast<size_t>(i)]); });
    }
    threads.emplace_back([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(round));
      v1::PutCheckRequest req;
      req.mutable_check()->mutable_spec()->set_name(absl::StrCat("race-", round));
      req.mutable_check()->mutable_spec()->set_type("tcp");
      (*req.mutable_check()->mutable_spec()->mutable_params())["address"] = "127.0.0.1:9";
      *req.mutable_check()->add_selector() = label;
      v1::PutCheckResponse resp;
      grpc::ClientContext ctx;
      SetDeadline(&ctx);
      grpc::Status st = admin_->PutCheck(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
    });
    for (std::thread& t : threads) t.join();
    for (int i = 0; i < kAgents; ++i) {
      SCOPED_TRACE(absl::StrCat("agent ", i));
      Stream* stream = sessions[static_cast<size_t>(i)].stream.get();
      ASSERT_NE(stream, nullptr);
      // Half-close: the collector sends what it queued, then ends the stream.
      stream->WritesDone();
      v1::CollectorMessage msg;
      int settings = 0, last_count = -1;
      while (stream->Read(&msg)) {
        if (!msg.has_settings()) continue;
        ++settings;
        last_count = msg.settings().checks_size();
      }
      EXPECT_TRUE(stream->Finish().ok());
      EXPECT_EQ(last_count, round + 1) << "the last of " << settings << " settings messages";
    }
  }
}

TEST_F(CollectorServerTest, HelloWithStaleInventoryDigestGetsResyncRequest) {
  agent::AgentIdentity id = EnrollNew("resync-1");
  AgentSession s;
  ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &s, "abc123"));
  v1::CollectorMessage msg;
  ASSERT_TRUE(s.stream->Read(&msg));
  ASSERT_TRUE(msg.has_settings()) << msg.ShortDebugString();
  ASSERT_TRUE(s.stream->Read(&msg));
  EXPECT_TRUE(msg.has_resync()) << msg.ShortDebugString();
  EXPECT_TRUE(s.Close().ok());
}

TEST_F(CollectorServerTest, ConnectWithoutClientCertificateIsUnauthenticated) {
  auto stub = AgentStub(nullptr);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  std::unique_ptr<Stream> stream = stub->Connect(&ctx);
  stream->Write(HelloMessage());  // may or may not get through before the refusal
  grpc::Status st = DrainAndFinish(stream.get());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "client certificate")) << st.error_message();
}

TEST_F(CollectorServerTest, ConnectWithAdminCertificateIsPermissionDenied) {
  agent::AgentIdentity admin_as_agent{"admin", admin_cred_.key_pem, admin_cred_.cert_pem};
  auto stub = AgentStub(&admin_as_agent);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  std::unique_ptr<Stream> stream = stub->Connect(&ctx);
  stream->Write(HelloMessage());
  grpc::Status st = DrainAndFinish(stream.get());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
}

TEST_F(CollectorServerTest, AdminCallWithAgentCertificateIsPermissionDenied) {
  agent::AgentIdentity id = EnrollNew("sneaky");
  ctl::AdminCredential as_agent{server_->address(), CaPem(), id.cert_pem, id.key_pem};
  auto stub = ctl::MakeAdminStub(as_agent);
  v1::ListHostsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  grpc::Status st = stub->ListHosts(&ctx, v1::ListHostsRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "admin")) << st.error_message();
  EXPECT_EQ(resp.hosts_size(), 0);

  v1::CreateEnrollmentTokenResponse token;
  grpc::ClientContext ctx2;
  SetDeadline(&ctx2);
  st = stub->CreateEnrollmentToken(&ctx2, v1::CreateEnrollmentTokenRequest(), &token);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_TRUE(token.token().empty());
}

TEST_F(CollectorServerTest, AdminCallWithoutClientCertificateIsUnauthenticated) {
  ctl::AdminCredential anonymous{server_->address(), CaPem(), "", ""};
  auto stub = ctl::MakeAdminStub(anonymous);
  v1::ListHostsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  grpc::Status st = stub->ListHosts(&ctx, v1::ListHostsRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
}

TEST_F(CollectorServerTest, EnvelopeBeforeHelloIsFailedPrecondition) {
  agent::AgentIdentity id = EnrollNew("eager");
  auto stub = AgentStub(&id);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  std::unique_ptr<Stream> stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(MetricEnvelope(1, "host_load1", {1000})));
  grpc::Status st = DrainAndFinish(stream.get());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "Hello")) << st.error_message();
  // Nothing was applied.
  auto q = QueryMetrics(id.agent_id, "host_load1", 0, 10000);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->series_size(), 0);
}

TEST_F(CollectorServerTest, SecondHelloIsFailedPrecondition) {
  agent::AgentIdentity id = EnrollNew("chatty");
  AgentSession s;
  ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &s));
  s.stream->Write(HelloMessage());
  grpc::Status st = DrainAndFinish(s.stream.get());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
}

// A refused envelope is acked with the reason instead of closing the
// session: otherwise the agent would resend it forever and nothing queued
// behind it would arrive (a newer agent's payload, a malformed batch).
TEST_F(CollectorServerTest, InvalidEnvelopeIsAckedAsRejectedNamingTheItem) {
  agent::AgentIdentity id = EnrollNew("sloppy");
  AgentSession s;
  ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &s));
  Stream* stream = s.stream.get();
  ASSERT_TRUE(stream->Write(MetricEnvelope(1, "1bad", {1000})));
  v1::AgentMessage unknown;  // A payload this collector does not know.
  unknown.mutable_envelope()->set_seq(2);
  unknown.mutable_envelope()->set_created_ms(1000);
  ASSERT_TRUE(stream->Write(unknown));
  ASSERT_TRUE(stream->Write(MetricEnvelope(3, "good_metric", {2000})));
  std::vector<v1::Ack> acks;
  v1::CollectorMessage msg;
  while (acks.size() < 3 && stream->Read(&msg)) {
    if (msg.has_ack()) acks.push_back(msg.ack());
  }
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[0].seq(), 1u);
  EXPECT_TRUE(absl::StrContains(acks[0].rejected(), "'1bad'")) << acks[0].rejected();
  EXPECT_EQ(acks[1].seq(), 2u);
  EXPECT_TRUE(absl::StrContains(acks[1].rejected(), "no payload")) << acks[1].rejected();
  EXPECT_EQ(acks[2].seq(), 3u);
  EXPECT_EQ(acks[2].rejected(), "");
  EXPECT_TRUE(s.Close().ok());

  // The refused ones are recorded as done (a resend is skipped), not stored.
  AgentSession again;
  ASSERT_NO_FATAL_FAILURE(ConnectAndHello(id, &again));
  EXPECT_EQ(again.welcome.last_applied_seq(), 3u);
  EXPECT_TRUE(again.Close().ok());
  auto good = QueryMetrics(id.agent_id, "good_metric", 0, 10000);
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_EQ(good->series_size(), 1);
  EXPECT_EQ(good->series(0).points_size(), 1);
}

// One QueryMetrics over several metrics an agent sent, named by a
// `__name__` regex: each answered series carries its own metric name.
TEST_F(CollectorServerTest, AdminQueryNamesSeveralMetricsWithANameMatcher) {
  agent::AgentIdentity id = EnrollNew("several-metrics");
  ASSERT_NO_FATAL_FAILURE(SendAndAwaitAcks(
      id, {MetricEnvelope(1, "multi_user", {1000, 2000}), MetricEnvelope(2, "multi_system", {1000}),
           MetricEnvelope(3, "other", {1000})}));

  v1::QueryMetricsRequest req;
  req.set_agent_id(id.agent_id);
  req.set_start_ms(0);
  req.set_end_ms(10000);
  v1::LabelMatcher* m = req.add_matchers();
  m->set_name("__name__");
  m->set_op(v1::LabelMatcher::RE);
  m->set_value("multi_.*");
  v1::QueryMetricsResponse resp;
  grpc::ClientContext qctx;
  SetDeadline(&qctx);
  grpc::Status st = admin_->QueryMetrics(&qctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.series_size(), 2);
  EXPECT_EQ(resp.series(0).name(), "multi_system");
  EXPECT_EQ(resp.series(0).points_size(), 1);
  EXPECT_EQ(resp.series(1).name(), "multi_user");
  EXPECT_EQ(resp.series(1).points_size(), 2);

  req.set_agg("count");
  req.add_group_by("__name__");
  resp.Clear();
  grpc::ClientContext gctx;
  SetDeadline(&gctx);
  st = admin_->QueryMetrics(&gctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.series_size(), 2);
  EXPECT_EQ(resp.series(0).name(), "multi_system");
  EXPECT_EQ(resp.series(1).name(), "multi_user");
  ASSERT_EQ(resp.series(1).points_size(), 1);
  EXPECT_EQ(resp.series(1).points(0).value(), 2);
}

// QueryMetrics runs a small query selected by exact label (one agent, an
// hour) on the gRPC thread, a longer one selected there but read on the
// WorkQueue, and one without an exact label on the WorkQueue throughout:
// the same points each way.
TEST_F(CollectorServerTest, AdminQueryAnswersAlikeWhereverItRuns) {
  agent::AgentIdentity id = EnrollNew("query-paths");
  const std::vector<int64_t> times = {1000, 2250, 3500};
  ASSERT_NO_FATAL_FAILURE(SendAndAwaitAcks(id, {MetricEnvelope(1, "query_paths", times)}));

  constexpr int64_t kHour = 3'600'000;
  auto inline_answer = QueryMetrics(id.agent_id, "query_paths", 0, 10000);
  auto prepared_answer = QueryMetrics(id.agent_id, "query_paths", 0, 100 * kHour);
  auto queued_answer = QueryMetrics("", "query_paths", 0, 10000);
  for (const auto* answer : {&inline_answer, &prepared_answer, &queued_answer}) {
    ASSERT_TRUE(answer->ok()) << answer->status();
    ASSERT_EQ((*answer)->series_size(), 1);
    const auto& series = (*answer)->series(0);
    ASSERT_EQ(series.points_size(), 3);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(series.points(i).time_ms(), times[static_cast<size_t>(i)]);
      EXPECT_EQ(series.points(i).value(),
                static_cast<double>(times[static_cast<size_t>(i)] % 1000) / 4);
    }
  }
  // Errors come back from the gRPC thread as from the WorkQueue.
  auto bad_inline = QueryMetrics(id.agent_id, "query_paths", 10000, 1);
  auto bad_queued = QueryMetrics("", "query_paths", 10000, 1);
  EXPECT_EQ(bad_inline.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_queued.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CollectorServerTest, AdminQueriesValidateTheirInput) {
  // No agent: every host's series (none of "m" here).
  auto no_agent = QueryMetrics("", "m", 0, 1);
  ASSERT_TRUE(no_agent.ok()) << no_agent.status();
  EXPECT_EQ(no_agent->series_size(), 0);
  agent::AgentIdentity id = EnrollNew("query-target");
  auto no_metric = QueryMetrics(id.agent_id, "", 0, 1);
  EXPECT_EQ(no_metric.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(no_metric.status().message(), "no __name__ matcher with = or =~"))
      << no_metric.status();
  auto reversed = QueryMetrics(id.agent_id, "m", 100, 1);
  EXPECT_EQ(reversed.status().code(), absl::StatusCode::kInvalidArgument);
  auto unknown = QueryMetrics("no-such-agent", "m", 0, 1);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "no-such-agent"));

  v1::CreateEnrollmentTokenRequest req;
  req.set_ttl_seconds(-1);
  v1::CreateEnrollmentTokenResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  EXPECT_EQ(admin_->CreateEnrollmentToken(&ctx, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// --- services inventory: report through a session, ListServices, stewardctl ---

v1::AgentMessage ServiceEnvelope(uint64_t seq, bool systemd,
                                 std::vector<std::vector<std::string>> units) {
  v1::AgentMessage m;
  m.mutable_envelope()->set_seq(seq);
  auto* r = m.mutable_envelope()->mutable_service_report();
  r->set_systemd_present(systemd);
  for (const auto& u : units) {  // name, active, sub, description
    auto* p = r->add_units();
    p->set_name(u[0]);
    p->set_load_state("loaded");
    p->set_active_state(u[1]);
    p->set_sub_state(u[2]);
    p->set_description(u[3]);
    p->set_unit_file_state("enabled");
  }
  return m;
}

TEST_F(CollectorServerTest, ServiceReportsAreListedFilteredAndShownByStewardctl) {
  agent::AgentIdentity web = EnrollNew("svc-web");
  agent::AgentIdentity box = EnrollNew("svc-container");
  agent::AgentIdentity old = EnrollNew("svc-old");
  ASSERT_NO_FATAL_FAILURE(SendAndAwaitAcks(
      web,
      {ServiceEnvelope(
          1, true,
          {{"cron.service", "active", "running", "Regular background program processing daemon"},
           {"nginx-exporter.timer", "active", "waiting", "Scrape nginx"},
           {"nginx.service", "failed", "failed", "A high performance web server"}})}));
  ASSERT_NO_FATAL_FAILURE(SendAndAwaitAcks(box, {ServiceEnvelope(1, false, {})}));

  auto list = [&](const std::string& host, const std::string& state, const std::string& part) {
    v1::ListServicesRequest req;
    req.set_agent_id(host);
    req.set_active_state(state);
    req.set_name_contains(part);
    v1::ListServicesResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status st = admin_->ListServices(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    for (const auto& hs : resp.services()) {
      out.push_back(hs.hostname() + " " + hs.unit().name() + " " + hs.unit().active_state());
    }
    for (const auto& h : resp.hosts_without_systemd()) out.push_back("no-systemd " + h);
    for (const auto& h : resp.hosts_not_reporting()) out.push_back("not-reporting " + h);
    return out;
  };
  EXPECT_EQ(list(web.agent_id, "", ""),
            (std::vector<std::string>{"svc-web cron.service active",
                                      "svc-web nginx-exporter.timer active",
                                      "svc-web nginx.service failed"}));
  EXPECT_EQ(list(web.agent_id, "failed", ""),
            std::vector<std::string>{"svc-web nginx.service failed"});
  EXPECT_EQ(list(web.agent_id, "", "nginx"),
            (std::vector<std::string>{"svc-web nginx-exporter.timer active",
                                      "svc-web nginx.service failed"}));
  EXPECT_EQ(list(box.agent_id, "", ""), std::vector<std::string>{"no-systemd " + box.agent_id});
  EXPECT_EQ(list(old.agent_id, "", ""), std::vector<std::string>{"not-reporting " + old.agent_id});

  v1::ListServicesRequest unknown;
  unknown.set_agent_id("no-such-agent");
  v1::ListServicesResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  EXPECT_EQ(admin_->ListServices(&ctx, unknown, &resp).error_code(), grpc::StatusCode::NOT_FOUND);

  auto ctl = [&](std::vector<std::string> args, int want_code) {
    args.insert(args.begin(), {"--config", DataDir() + "/admin.conf"});
    std::ostringstream out, err;
    EXPECT_EQ(ctl::RunStewardctl(args, "", out, err), want_code) << err.str();
    return want_code == 0 ? out.str() : err.str();
  };
  EXPECT_EQ(
      ctl({"services", "--host", web.agent_id, "--state", "failed"}, 0),
      "HOST     UNIT           LOAD    ACTIVE  SUB     ENABLED  DESCRIPTION\n"
      "svc-web  nginx.service  loaded  failed  failed  enabled  A high performance web server\n");
  std::string json = ctl({"services", "--host", web.agent_id, "--name", "cron", "--json"}, 0);
  EXPECT_TRUE(absl::StrContains(json, "\"unit\": \"cron.service\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"active_state\": \"active\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"sub_state\": \"running\"")) << json;
  EXPECT_FALSE(absl::StrContains(json, "nginx")) << json;
  EXPECT_EQ(ctl({"services", "--host", box.agent_id}, 0),
            "HOST  UNIT  LOAD  ACTIVE  SUB  ENABLED  DESCRIPTION\n(no units match)\n(1 host(s) "
            "without systemd: " +
                box.agent_id + ")\n");
  EXPECT_TRUE(absl::StrContains(
      ctl({"services", "--state", "broken"}, 2),
      "--state 'broken' is not a systemd active state; use one of active, reloading"));
  EXPECT_TRUE(absl::StrContains(ctl({"services", "--host", "no-such-agent"}, 1),
                                "no host 'no-such-agent'"));
}

// A TCP listener on 127.0.0.1 for a tcp check: up while it listens
// (connections wait in the backlog), down (refused) once closed.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A real agent for `id` with one tcp check "port" on `port` and a
// collection interval of `interval`.
std::unique_ptr<testing::RunningAgent> RunAgentWithPortCheck(const std::string& address, const std::string& ca_pem,
                                                             const agent::AgentIdentity& id, const std::string& dir,
                                                             int port, absl::Duration interval) {
  agent::AgentConfig config = testing::HermeticAgentConfig(address, dir, interval);
  v1::CheckSpec check;
  check.set_name("port");
  check.set_type("tcp");
  (*check.mutable_params())["address"] = absl::StrCat("127.0.0.1:", port);
  config.checks.push_back(check);
  return std::make_unique<testing::RunningAgent>(std::move(config), ca_pem, id);
}

// The collector's latest state of the agent's check "port" (time_ms 0: none yet).
v1::CheckState PortCheck(v1::AdminService::Stub* admin, const std::string& agent_id) {
  v1::ListHealthRequest req;
  req.set_agent_id(agent_id);
  v1::ListHealthResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  grpc::Status st = admin->ListHealth(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  for (const auto& hc : resp.checks()) {
    if (hc.state().name() == "port") return hc.state();
  }
  return v1::CheckState();
}

// Polls PortCheck every 20 ms until `done` holds or `limit` passed; returns
// how long that took (limit when it never held).
template <typename Pred>
absl::Duration TimeUntil(v1::AdminService::Stub* admin, const std::string& agent_id, absl::Duration limit,
                         Pred done) {
  const absl::Time start = absl::Now();
  while (absl::Now() - start < limit) {
    if (done(PortCheck(admin, agent_id))) return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return limit;
}

// The collector asks a real agent for its health (what a rollout's health
// gate does when it starts): the report arrives within about a second, not
// at the agent's periodic refresh (every 6th cycle: a minute at the default
// 10 s interval), and during the watch a check that goes down is reported
// within a second or two, not at the next cycle (30 s here).
TEST_F(CollectorServerTest, HealthRequestGetsAFreshReportAndChangesPromptly) {
  agent::AgentIdentity id = EnrollNew("health-gate");
  ASSERT_FALSE(id.agent_id.empty());
  EXPECT_FALSE(server_->sessions()->RequestHealthReport(id.agent_id));  // not connected yet
  Listener listener;
  ASSERT_GT(listener.port(), 0);
  auto agent = RunAgentWithPortCheck(server_->address(), CaPem(), id, dir_->path() + "/state-health-gate",
                                     listener.port(), absl::Seconds(30));
  // The first cycle runs at once and reports the check OK.
  absl::Duration first = TimeUntil(admin_.get(), id.agent_id, absl::Seconds(15),
                                   [](const v1::CheckState& c) { return c.status() == v1::CheckState::OK; });
  ASSERT_LT(first, absl::Seconds(15)) << "no first health report";
  ASSERT_TRUE(server_->sessions()->IsConnected(id.agent_id));
  const int64_t first_ms = PortCheck(admin_.get(), id.agent_id).time_ms();

  // A moment later (a job finishing) the gate starts and asks.
  absl::SleepFor(absl::Milliseconds(300));
  const int64_t asked_ms = absl::ToUnixMillis(absl::Now());
  ASSERT_GT(asked_ms, first_ms);
  ASSERT_TRUE(server_->sessions()->RequestHealthReport(id.agent_id, absl::Seconds(20), "test gate"));
  absl::Duration fresh = TimeUntil(admin_.get(), id.agent_id, absl::Seconds(10),
                                   [&](const v1::CheckState& c) { return c.time_ms() >= asked_ms; });
  std::printf("health request -> fresh report at the collector: %.0f ms\n", absl::ToDoubleMilliseconds(fresh));
  EXPECT_LT(fresh, absl::Seconds(2));
  EXPECT_EQ(PortCheck(admin_.get(), id.agent_id).status(), v1::CheckState::OK);

  // The service goes down during the gate.
  absl::SleepFor(absl::Milliseconds(500));
  listener.Close();
  absl::Duration down = TimeUntil(admin_.get(), id.agent_id, absl::Seconds(10),
                                  [](const v1::CheckState& c) { return c.status() == v1::CheckState::DOWN; });
  std::printf("check down -> DOWN at the collector: %.0f ms\n", absl::ToDoubleMilliseconds(down));
  EXPECT_LT(down, absl::Milliseconds(2500));
}

TEST(CollectorServerStart, RejectsMissingDataDirAndBadListenAddress) {
  CollectorOptions no_dir;
  no_dir.listen = "127.0.0.1:0";
  auto s = CollectorServer::Start(no_dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "data-dir"));

  testing::TempDir dir;
  CollectorOptions bad_listen;
  bad_listen.data_dir = dir.path() + "/data";
  bad_listen.listen = "127.0.0.1";
  s = CollectorServer::Start(bad_listen);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "'127.0.0.1'")) << s.status();
}

TEST(CollectorServerStart, RestartKeepsCaAndAppliedData) {
  testing::TempDir dir;
  CollectorOptions opts;
  opts.data_dir = dir.path() + "/data";
  opts.listen = "127.0.0.1:0";
  opts.worker_threads = 1;
  std::string ca_before, agent_id;
  agent::AgentIdentity id;
  {
    auto server = CollectorServer::Start(opts);
    ASSERT_TRUE(server.ok()) << server.status();
    auto cred = ctl::LoadAdminCredential(opts.data_dir + "/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    auto admin = ctl::MakeAdminStub(*cred);
    v1::CreateEnrollmentTokenResponse token;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    ASSERT_TRUE(
        admin->CreateEnrollmentToken(&ctx, v1::CreateEnrollmentTokenRequest(), &token).ok());
    ca_before = ReadFile(opts.data_dir + "/ca.pem").value();
    auto enrolled = agent::EnrollAgent((*server)->address(), ca_before, token.token(),
                                       dir.path() + "/state", v1::HostFacts(), absl::Seconds(10));
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    id = *enrolled;
    AgentSession s;
    ASSERT_NO_FATAL_FAILURE(
        OpenSession(agent::MakeCollectorChannel((*server)->address(), ca_before, &id), &s));
    v1::CollectorMessage msg;
    ASSERT_TRUE(s.stream->Read(&msg));  // Settings
    ASSERT_TRUE(msg.has_settings()) << msg.ShortDebugString();
    ASSERT_TRUE(s.stream->Write(MetricEnvelope(1, "m", {5})));
    ASSERT_TRUE(s.stream->Read(&msg));
    ASSERT_TRUE(msg.has_ack());
    EXPECT_TRUE(s.Close().ok());
  }
  auto server = CollectorServer::Start(opts);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(ReadFile(opts.data_dir + "/ca.pem").value(), ca_before);
  auto cred = ctl::LoadAdminCredential(opts.data_dir + "/admin.conf");
  ASSERT_TRUE(cred.ok());
  EXPECT_EQ(cred->collector, (*server)->address());
  // The agent's old certificate still works and the applied sequence survived.
  AgentSession s;
  ASSERT_NO_FATAL_FAILURE(
      OpenSession(agent::MakeCollectorChannel((*server)->address(), ca_before, &id), &s));
  EXPECT_EQ(s.welcome.last_applied_seq(), 1u);
  EXPECT_TRUE(s.Close().ok());
}

// --- SplitHostPort ---

TEST(SplitHostPort, SplitsHostAndPort) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:7443", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7443);
  ASSERT_TRUE(SplitHostPort("collector.example.org:0", &host, &port).ok());
  EXPECT_EQ(host, "collector.example.org");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort("[::1]:65535", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 65535);
  ASSERT_TRUE(SplitHostPort("[2001:db8::5]:443", &host, &port).ok());
  EXPECT_EQ(host, "2001:db8::5");
  EXPECT_EQ(port, 443);
}

TEST(SplitHostPort, RejectsMalformedAddressesNamingThem) {
  for (std::string bad : {"", "localhost", ":7443", "host:", "host:port", "host:-1", "host:65536",
                          "host:99999999999", "::1:7443", "[::1:7443", "::1]:7443", "host:7443x"}) {
    std::string host;
    int port = 0;
    absl::Status s = SplitHostPort(bad, &host, &port);
    EXPECT_FALSE(s.ok()) << "'" << bad << "' accepted as " << host << " port " << port;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(s.message(), "'" + bad + "'")) << s;
  }
}

TEST(SplitHostPort, RejectsPortsWithSpacesOrSigns) {
  for (std::string bad : {"host: 7443", "host:7443 ", "host:+7443"}) {
    std::string host;
    int port = 0;
    absl::Status s = SplitHostPort(bad, &host, &port);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << "'" << bad << "' accepted, port " << port;
  }
}

}  // namespace
}  // namespace steward::collector
