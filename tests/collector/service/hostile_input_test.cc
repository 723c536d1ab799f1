// Hostile input against a real CollectorServer on 127.0.0.1:0 with real TLS
// (issue 16, sections 1 and 2): each test sends what the proto (or the wire)
// allows an attacker to send, asserts the refusal, and that what was stored
// before is unchanged.

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/table.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"
#include "tests/testing/stalling_proxy.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;

void SetDeadline(grpc::ClientContext* ctx, absl::Duration d = absl::Seconds(20)) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + d));
}

int64_t ProcStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, field)) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kb = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb;
    }
  }
  return -1;
}

// Resets the process's peak RSS (VmHWM) to its current RSS.
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

grpc::ByteBuffer Bytes(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

// An EnrollRequest of about `bytes` whose facts hold nothing but empty
// `disks` entries: 2 wire bytes each, about 37 bytes of heap each once parsed.
std::string HostileEnrollBody(size_t bytes) {
  std::string disks;
  disks.reserve(bytes);
  while (disks.size() + 2 <= bytes) disks.append("\x72\x00", 2);  // field 14, length 0
  std::string body = "\x1a";                                      // field 3 (facts), length-delimited
  uint64_t n = disks.size();
  while (n >= 0x80) {
    body.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  body.push_back(static_cast<char>(n));
  return body + disks;
}

grpc::Status RawUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& body, grpc::ByteBuffer* response = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  grpc::ByteBuffer req = Bytes(body);
  grpc::ByteBuffer resp;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, response != nullptr ? response : &resp,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

v1::AgentMessage Hello() {
  v1::AgentMessage m;
  m.mutable_hello()->set_agent_version("test-1.0");
  return m;
}

v1::AgentMessage Heartbeat(uint64_t seq) {
  v1::AgentMessage m;
  m.mutable_envelope()->set_seq(seq);
  m.mutable_envelope()->set_created_ms(absl::ToUnixMillis(absl::Now()));
  m.mutable_envelope()->mutable_heartbeat();
  return m;
}

v1::AgentMessage Snapshot(uint64_t seq, const std::string& hostname, const std::string& vendor) {
  v1::AgentMessage m;
  v1::Envelope* env = m.mutable_envelope();
  env->set_seq(seq);
  env->set_created_ms(absl::ToUnixMillis(absl::Now()));
  v1::InventorySnapshot* snap = env->mutable_inventory_snapshot();
  snap->mutable_facts()->set_hostname(hostname);
  v1::SoftwareItem* item = snap->add_items();
  item->set_source("dpkg");
  item->set_name("openssl");
  item->set_version("3.0.11-1");
  item->set_vendor(vendor);
  snap->set_digest(absl::StrCat("digest-", seq));
  return m;
}

// `count` series named m0..m{count-1} with one point each at `time_ms`.
v1::AgentMessage Metrics(uint64_t seq, int first, int count, int64_t time_ms) {
  v1::AgentMessage m;
  v1::Envelope* env = m.mutable_envelope();
  env->set_seq(seq);
  env->set_created_ms(absl::ToUnixMillis(absl::Now()));
  for (int i = first; i < first + count; ++i) {
    v1::Series* s = env->mutable_metric_batch()->add_series();
    s->set_name(absl::StrCat("hostile_m", i));
    v1::Point* p = s->add_points();
    p->set_time_ms(time_ms);
    p->set_value(i);
  }
  return m;
}

struct Session {
  std::unique_ptr<v1::AgentService::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream;
  v1::Welcome welcome;

  // Writes `m` and reads until its ack (other messages skipped).
  v1::Ack SendAndAwaitAck(const v1::AgentMessage& m) {
    EXPECT_TRUE(stream->Write(m));
    v1::CollectorMessage in;
    while (stream->Read(&in)) {
      if (in.has_ack() && in.ack().seq() == m.envelope().seq()) return in.ack();
    }
    ADD_FAILURE() << "stream ended before the ack of " << m.envelope().seq();
    return v1::Ack();
  }
  grpc::Status Drain() {
    v1::CollectorMessage ignored;
    while (stream->Read(&ignored)) {
    }
    return stream->Finish();
  }
};

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    CollectorOptions opts;
    opts.data_dir = dir_->path() + "/data";
    opts.listen = "127.0.0.1:0";
    opts.worker_threads = 2;
    opts.agent_limits.max_series = 50;
    opts.agent_limits.max_new_series_per_minute = 30;
    opts.agent_limits.max_queued_messages = 64;
    opts.enrollment_limits.per_source_burst = 1000;  // this suite enrolls many agents
    opts.now = [] { return absl::Now() + absl::Seconds(clock_offset_s_.load()); };
    auto server = CollectorServer::Start(opts);
    if (!server.ok()) {
      start_error_ = new std::string(server.status().ToString());
      return;
    }
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    delete start_error_;
    server_ = nullptr;
    dir_ = nullptr;
    start_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
    // Certificates are signed by the collector's clock: every test starts
    // with it at the real time.
    clock_offset_s_ = 0;
    auto cred = ctl::LoadAdminCredential(dir_->path() + "/data/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    admin_ = ctl::MakeAdminStub(*cred);
  }

  static std::string CaPem() { return ReadFile(dir_->path() + "/data/ca.pem").value(); }
  static std::shared_ptr<grpc::Channel> Anonymous() {
    return agent::MakeCollectorChannel(server_->address(), CaPem(), nullptr);
  }

  std::string Token() {
    v1::CreateEnrollmentTokenRequest req;
    req.set_ttl_seconds(600);
    req.set_max_uses(1);
    v1::CreateEnrollmentTokenResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    EXPECT_TRUE(admin_->CreateEnrollmentToken(&ctx, req, &resp).ok());
    return resp.token();
  }

  agent::AgentIdentity EnrollNew(const std::string& name) {
    v1::HostFacts facts;
    facts.set_hostname(name);
    auto id = agent::EnrollAgent(server_->address(), CaPem(), Token(), dir_->path() + "/state-" + name, facts,
                                 absl::Seconds(10));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : agent::AgentIdentity{};
  }

  void Open(const agent::AgentIdentity& id, Session* s) {
    s->stub = v1::AgentService::NewStub(agent::MakeCollectorChannel(server_->address(), CaPem(), &id));
    SetDeadline(&s->ctx);
    s->stream = s->stub->Connect(&s->ctx);
    ASSERT_TRUE(s->stream->Write(Hello()));
    v1::CollectorMessage in;
    ASSERT_TRUE(s->stream->Read(&in));
    ASSERT_TRUE(in.has_welcome()) << in.ShortDebugString();
    s->welcome = in.welcome();
  }

  size_t HostCount() {
    v1::ListHostsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    EXPECT_TRUE(admin_->ListHosts(&ctx, v1::ListHostsRequest(), &resp).ok());
    return static_cast<size_t>(resp.hosts_size());
  }

  v1::Host HostOf(const std::string& agent_id) {
    v1::ListHostsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    EXPECT_TRUE(admin_->ListHosts(&ctx, v1::ListHostsRequest(), &resp).ok());
    for (const v1::Host& h : resp.hosts()) {
      if (h.agent_id() == agent_id) return h;
    }
    ADD_FAILURE() << "no host " << agent_id;
    return v1::Host();
  }

  std::vector<std::string> MetricNames(const std::string& agent_id) {
    v1::ListMetricNamesRequest req;
    req.set_agent_id(agent_id);
    v1::ListMetricNamesResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status st = admin_->ListMetricNames(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.names().begin(), resp.names().end()};
  }

  static testing::TempDir* dir_;
  static CollectorServer* server_;
  static std::string* start_error_;
  static std::atomic<int64_t> clock_offset_s_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

testing::TempDir* HostileInputTest::dir_ = nullptr;
CollectorServer* HostileInputTest::server_ = nullptr;
std::string* HostileInputTest::start_error_ = nullptr;
std::atomic<int64_t> HostileInputTest::clock_offset_s_{0};

// Threat: four concurrent 16 MiB Enroll requests of empty repeated entries
// took the collector to 2.27 GB (parsed before any token check, ~37 bytes
// of heap per wire byte).
TEST_F(HostileInputTest, LargeEnrollRequestsAreRefusedBeforeParsing) {
  size_t hosts_before = HostCount();
  const std::string body = HostileEnrollBody(16 << 20);
  ResetPeakRss();
  int64_t rss_before_kb = ProcStatusKb("VmHWM:");
  std::vector<grpc::Status> results(4);
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] { results[i] = RawUnary(Anonymous(), "/steward.v1.AgentService/Enroll", body); });
  }
  for (auto& t : callers) t.join();
  int64_t growth_mb = (ProcStatusKb("VmHWM:") - rss_before_kb) / 1024;
  std::printf("peak RSS growth with four 16 MiB Enroll requests: %lld MB\n", static_cast<long long>(growth_mb));
  for (const grpc::Status& st : results) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_TRUE(absl::StrContains(st.error_message(), "over the limit of 16384 bytes")) << st.error_message();
  }
  // The client's own four 16 MiB copies and gRPC's buffers are in here too;
  // parsed, the requests alone would be over 2 GB.
  EXPECT_LT(growth_mb, 400) << "peak RSS grew by " << growth_mb << " MB";
  EXPECT_EQ(HostCount(), hosts_before);
}

TEST_F(HostileInputTest, CallsWithoutACertificateAreRefusedBeforeTheirRequestIsParsed) {
  const std::string body = HostileEnrollBody(8 << 20);  // a large ListHosts-shaped blob
  for (const char* method : {"/steward.v1.AdminService/ListHosts", "/steward.v1.AdminService/CreateDeployment",
                             "/steward.v1.AgentService/FetchArtifact"}) {
    grpc::Status st = RawUnary(Anonymous(), method, body);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method << ": " << st.error_message();
    EXPECT_TRUE(absl::StrContains(st.error_message(), "only Enroll may be called without one"))
        << method << ": " << st.error_message();
  }
  // Enroll itself is still open to callers without a certificate.
  v1::EnrollRequest req;
  req.set_token("0000000000000000.00");
  req.set_csr_pem("x");
  grpc::Status st = RawUnary(Anonymous(), "/steward.v1.AgentService/Enroll", req.SerializeAsString());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "token")) << st.error_message();
}

TEST_F(HostileInputTest, EnrollWithAHostileHostnameIsRefusedAndNothingStored) {
  size_t hosts_before = HostCount();
  std::string token = Token();
  v1::EnrollRequest req;
  req.set_token(token);
  req.set_csr_pem("-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----\n");
  req.mutable_facts()->set_hostname("web\x1b[2K\rdb-01  (fake row)");
  grpc::Status st = RawUnary(Anonymous(), "/steward.v1.AgentService/Enroll", req.SerializeAsString());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "facts.hostname has a control character")) << st.error_message();
  req.mutable_facts()->set_hostname(std::string(20 << 10, 'h'));
  st = RawUnary(Anonymous(), "/steward.v1.AgentService/Enroll", req.SerializeAsString());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "over the limit")) << st.error_message();
  EXPECT_EQ(HostCount(), hosts_before);
  // The token was not used up by the refusals.
  v1::HostFacts facts;
  facts.set_hostname("honest");
  EXPECT_TRUE(agent::EnrollAgent(server_->address(), CaPem(), token, dir_->path() + "/state-honest", facts,
                                 absl::Seconds(10))
                  .ok());
}

TEST(HostileEnrollment, AttemptsAreRateLimitedPerSourceAddress) {
  testing::TempDir dir;
  CollectorOptions opts;
  opts.data_dir = dir.path() + "/data";
  opts.listen = "127.0.0.1:0";
  opts.enrollment_limits.per_source_burst = 3;
  opts.enrollment_limits.per_source_per_second = 0.01;
  auto server = CollectorServer::Start(opts);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = agent::MakeCollectorChannel((*server)->address(), ReadFile(dir.path() + "/data/ca.pem").value(),
                                             nullptr);
  v1::EnrollRequest req;
  req.set_token("0123456789abcdef.00");
  req.set_csr_pem("x");
  std::vector<grpc::StatusCode> codes;
  for (int i = 0; i < 6; ++i) {
    codes.push_back(RawUnary(channel, "/steward.v1.AgentService/Enroll", req.SerializeAsString()).error_code());
  }
  EXPECT_EQ(codes, (std::vector<grpc::StatusCode>{
                       grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::UNAUTHENTICATED,
                       grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::RESOURCE_EXHAUSTED,
                       grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::RESOURCE_EXHAUSTED}));
  grpc::Status st = RawUnary(channel, "/steward.v1.AgentService/Enroll", req.SerializeAsString());
  EXPECT_TRUE(absl::StrContains(st.error_message(), "too many enrollment attempts from this address; retry in"))
      << st.error_message();
}

// Threat: a hostname with terminal escapes drew fake rows in `stewardctl
// hosts`; vendor had no limit; a 20 MiB hostname was stored.
TEST_F(HostileInputTest, SnapshotWithHostileTextIsRefusedAndStoredStateUnchanged) {
  agent::AgentIdentity id = EnrollNew("victim");
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  v1::Ack ok = s.SendAndAwaitAck(Snapshot(1, "victim", "OpenSSL Project"));
  EXPECT_TRUE(ok.rejected().empty()) << ok.rejected();
  struct Case {
    std::string hostname, vendor, expect;
  } cases[] = {
      {"victim\x1b[2J\x1b[Hroot-owned", "x", "facts.hostname has a control character"},
      {std::string(20 << 20, 'h'), "x", "inventory snapshot"},  // over the message limit? no: 32 MiB
      {"victim", std::string(2048, 'v'), "items[0].vendor: 2048 bytes; the limit is 1024"},
      {"victim", "Jos\xc2\x9b" "31m", "items[0].vendor has a control character"},
  };
  cases[1].expect = "facts.hostname: 20971520 bytes; the limit is 255";
  uint64_t seq = 2;
  for (const Case& c : cases) {
    v1::Ack ack = s.SendAndAwaitAck(Snapshot(seq++, c.hostname, c.vendor));
    EXPECT_TRUE(absl::StrContains(ack.rejected(), c.expect)) << ack.rejected();
  }
  EXPECT_TRUE(s.SendAndAwaitAck(Heartbeat(seq)).rejected().empty());  // the session goes on
  s.stream->WritesDone();
  EXPECT_TRUE(s.Drain().ok());
  v1::Host host = HostOf(id.agent_id);
  EXPECT_EQ(host.facts().hostname(), "victim");
  EXPECT_EQ(host.software_count(), 1u);
}

// Threat: unknown protobuf fields were stored and served back (4 MiB per
// health check).
TEST_F(HostileInputTest, UnknownFieldsAreDiscardedBeforeStoring) {
  agent::AgentIdentity id = EnrollNew("unknowns");
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  v1::AgentMessage m;
  m.mutable_envelope()->set_seq(1);
  m.mutable_envelope()->set_created_ms(absl::ToUnixMillis(absl::Now()));
  v1::CheckState* check = m.mutable_envelope()->mutable_health_report()->add_checks();
  check->set_name("web");
  check->set_type("http");
  check->set_status(v1::CheckState::OK);
  check->set_time_ms(absl::ToUnixMillis(absl::Now()));
  check->GetReflection()->MutableUnknownFields(check)->AddLengthDelimited(999, std::string(1 << 20, 'u'));
  m.GetReflection()->MutableUnknownFields(&m)->AddVarint(777, 1);
  v1::Ack ack = s.SendAndAwaitAck(m);
  EXPECT_TRUE(ack.rejected().empty()) << ack.rejected();
  s.stream->WritesDone();
  EXPECT_TRUE(s.Drain().ok());
  v1::ListHealthRequest req;
  req.set_agent_id(id.agent_id);
  v1::ListHealthResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  ASSERT_TRUE(admin_->ListHealth(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.checks_size(), 1);
  EXPECT_EQ(resp.checks(0).state().name(), "web");
  EXPECT_TRUE(resp.checks(0).state().GetReflection()->GetUnknownFields(resp.checks(0).state()).empty());
  EXPECT_LT(resp.ByteSizeLong(), 1024u);
}

// Threat: a message that failed to parse ended the stream with status OK.
TEST_F(HostileInputTest, MessageThatDoesNotParseEndsTheStreamWithAnError) {
  agent::AgentIdentity id = EnrollNew("garbled");
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  v1::AgentMessage bad = Heartbeat(1);
  bad.mutable_envelope()->mutable_inventory_snapshot()->mutable_facts()->set_hostname("Jos\xe9");  // not UTF-8
  ASSERT_TRUE(s.stream->Write(bad));
  grpc::Status st = s.Drain();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "does not parse as an AgentMessage")) << st.error_message();
}

TEST_F(HostileInputTest, OversizedEnvelopeForItsKindIsAckedAsRefusedAndTheStreamGoesOn) {
  agent::AgentIdentity id = EnrollNew("bloated");
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  v1::AgentMessage fat = Heartbeat(1);
  fat.mutable_envelope()->mutable_heartbeat()->GetReflection()
      ->MutableUnknownFields(fat.mutable_envelope()->mutable_heartbeat())
      ->AddLengthDelimited(5, std::string(4096, 'x'));
  v1::Ack ack = s.SendAndAwaitAck(fat);
  EXPECT_TRUE(absl::StrContains(ack.rejected(), "heartbeat of ")) << ack.rejected();
  EXPECT_TRUE(absl::StrContains(ack.rejected(), "over the limit of 1024 bytes for its kind")) << ack.rejected();
  EXPECT_TRUE(s.SendAndAwaitAck(Heartbeat(2)).rejected().empty());
  s.stream->WritesDone();
  EXPECT_TRUE(s.Drain().ok());
}

// Threat: one envelope of seq 2^64-1 silenced the host for good (every
// later envelope looked like a resend).
TEST_F(HostileInputTest, ForgedSequenceNumberIsRefusedAndDoesNotSilenceTheHost) {
  agent::AgentIdentity id = EnrollNew("forged-seq");
  {
    Session s;
    ASSERT_NO_FATAL_FAILURE(Open(id, &s));
    ASSERT_TRUE(s.stream->Write(Heartbeat(~uint64_t{0})));
    grpc::Status st = s.Drain();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(st.error_message(), "past the last applied seq 0")) << st.error_message();
  }
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  EXPECT_EQ(s.welcome.last_applied_seq(), 0u);
  EXPECT_TRUE(s.SendAndAwaitAck(Snapshot(1, "forged-seq", "v")).rejected().empty());
  s.stream->WritesDone();
  EXPECT_TRUE(s.Drain().ok());
  EXPECT_EQ(HostOf(id.agent_id).software_count(), 1u);
}

TEST_F(HostileInputTest, SamplesFromTheFutureAreRefused) {
  agent::AgentIdentity id = EnrollNew("future");
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  int64_t in_an_hour = absl::ToUnixMillis(absl::Now() + absl::Hours(1));
  v1::Ack ack = s.SendAndAwaitAck(Metrics(1, 0, 1, in_an_hour));
  EXPECT_TRUE(absl::StrContains(ack.rejected(), "past the latest time the collector accepts")) << ack.rejected();
  // Nothing stored, so the real samples after it are not "out of order".
  EXPECT_TRUE(MetricNames(id.agent_id).empty());
  EXPECT_TRUE(s.SendAndAwaitAck(Metrics(2, 0, 1, absl::ToUnixMillis(absl::Now()))).rejected().empty());
  EXPECT_EQ(MetricNames(id.agent_id).size(), 1u);
  s.stream->WritesDone();
  EXPECT_TRUE(s.Drain().ok());
}

// Threat: one agent created a million series in 14 s.
TEST_F(HostileInputTest, SeriesAreLimitedPerAgentAndPerMinuteWithoutTouchingOtherAgents) {
  agent::AgentIdentity id = EnrollNew("series-flood");
  // Enrolled before the clock moves (its certificate starts at enrollment).
  agent::AgentIdentity other = EnrollNew("series-neighbour");
  Session s;
  ASSERT_NO_FATAL_FAILURE(Open(id, &s));
  int64_t t = absl::ToUnixMillis(absl::Now());
  // 80 new series: 30 fit in this minute's budget.
  v1::Ack ack = s.SendAndAwaitAck(Metrics(1, 0, 80, t));
  EXPECT_TRUE(ack.rejected().empty());
  EXPECT_TRUE(absl::StrContains(ack.warning(), "RESOURCE_EXHAUSTED: 50 new series refused")) << ack.warning();
  EXPECT_TRUE(absl::StrContains(ack.warning(), "30 new series per agent per minute")) << ack.warning();
  EXPECT_EQ(MetricNames(id.agent_id).size(), 30u);
  // A minute later: 20 more, up to the agent's limit of 50.
  clock_offset_s_ += 61;
  ack = s.SendAndAwaitAck(Metrics(2, 0, 80, t + 1000));
  EXPECT_TRUE(absl::StrContains(ack.warning(), "30 new series refused")) << ack.warning();
  EXPECT_TRUE(absl::StrContains(ack.warning(), "has 50 series and the limit is 50 per agent")) << ack.warning();
  EXPECT_EQ(MetricNames(id.agent_id).size(), 50u);
  // Later still: nothing new, and the known series keep flowing.
  clock_offset_s_ += 61;
  ack = s.SendAndAwaitAck(Metrics(3, 0, 80, t + 2000));
  EXPECT_TRUE(absl::StrContains(ack.warning(), "30 new series refused")) << ack.warning();
  ack = s.SendAndAwaitAck(Metrics(4, 0, 50, t + 3000));
  EXPECT_TRUE(ack.warning().empty()) << ack.warning();
  s.stream->WritesDone();
  EXPECT_TRUE(s.Drain().ok());
  EXPECT_EQ(MetricNames(id.agent_id).size(), 50u);
  v1::QueryMetricsRequest q;
  q.set_agent_id(id.agent_id);
  q.set_metric("hostile_m0");
  q.set_start_ms(t - 1000);
  q.set_end_ms(t + 10000);
  v1::QueryMetricsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  ASSERT_TRUE(admin_->QueryMetrics(&ctx, q, &resp).ok());
  ASSERT_EQ(resp.series_size(), 1);
  EXPECT_EQ(resp.series(0).points_size(), 4);

  // Another agent is not held back by the first one's flood.
  Session o;
  ASSERT_NO_FATAL_FAILURE(Open(other, &o));
  EXPECT_TRUE(o.SendAndAwaitAck(Metrics(1, 0, 25, absl::ToUnixMillis(absl::Now()))).warning().empty());
  o.stream->WritesDone();
  EXPECT_TRUE(o.Drain().ok());
  EXPECT_EQ(MetricNames(other.agent_id).size(), 25u);
}

// Threat: an agent that hangs (or a peer that stops reading on purpose)
// while messages for it keep coming. Once its flow-control window and
// socket buffers are full, the collector's writes to it stay in flight:
// the queue behind them would grow without end, and Finish (which waits
// for the write in flight) would never come. Here the peer is a proxy that
// stops reading what the collector sends; the agent behind it goes on
// sending envelopes, and each queues an ack.
TEST_F(HostileInputTest, AnAgentThatStopsReadingIsCutOffAndOthersAreNotSlowed) {
  agent::AgentIdentity stuck_id = EnrollNew("stops-reading");
  agent::AgentIdentity other = EnrollNew("reads");
  auto proxy = testing::StallingProxy::Start(server_->address());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  Session stuck;
  // A fixed 16 KiB receive window (no bandwidth probes): the collector's
  // writes wait after ~16 KiB of acks, however fast this test runs.
  stuck.stub = v1::AgentService::NewStub(
      agent::MakeCollectorChannel((*proxy)->address(), CaPem(), &stuck_id, 16 << 10));
  SetDeadline(&stuck.ctx, absl::Seconds(60));
  stuck.stream = stuck.stub->Connect(&stuck.ctx);
  ASSERT_TRUE(stuck.stream->Write(Hello()));
  v1::CollectorMessage in;
  ASSERT_TRUE(stuck.stream->Read(&in));
  ASSERT_TRUE(in.has_welcome());
  const int64_t t = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE(stuck.SendAndAwaitAck(Metrics(1, 0, 1, t)).rejected().empty());
  ASSERT_TRUE(HostOf(stuck_id.agent_id).connected());

  (*proxy)->Stall();
  // The same seq again and again with samples an hour ahead: a resend
  // (nothing stored), each ack carrying the reason it is refused. Written
  // from a thread: once the collector cuts the session off, these writes
  // wait too.
  const v1::AgentMessage resend = Metrics(1, 0, 1, t + 3600 * 1000);
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (written < 20000 && stuck.stream->Write(resend)) ++written;
  });
  bool cut = false;
  for (int i = 0; i < 300 && !cut; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    cut = !HostOf(stuck_id.agent_id).connected();
  }
  EXPECT_TRUE(cut) << "the session of an agent that stopped reading was never cut off (" << written
                   << " envelopes written)";
  EXPECT_GT(written, 64);

  // Another agent's envelopes are applied and acked as usual.
  Session o;
  ASSERT_NO_FATAL_FAILURE(Open(other, &o));
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    EXPECT_TRUE(o.SendAndAwaitAck(Metrics(seq, 0, 2, t + static_cast<int64_t>(seq))).rejected().empty());
  }
  o.stream->WritesDone();
  EXPECT_TRUE(o.Drain().ok());

  // What the stuck agent sent before is kept, and it may come back.
  stuck.ctx.TryCancel();
  writer.join();
  proxy->reset();
  EXPECT_EQ(MetricNames(stuck_id.agent_id).size(), 1u);
  Session again;
  ASSERT_NO_FATAL_FAILURE(Open(stuck_id, &again));
  EXPECT_EQ(again.welcome.last_applied_seq(), 1u);
  again.stream->WritesDone();
  EXPECT_TRUE(again.Drain().ok());
}

TEST(HostileDisplay, TablesShowControlCharactersAsEscapes) {
  ctl::Table table({"HOST", "OS"});
  table.AddRow({"web\x1b[2K\r db-01  fake", "debian\n12"});
  std::string out = table.Render();
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_TRUE(absl::StrContains(out, "web\\x1b[2K\\x0d db-01  fake")) << out;
  EXPECT_TRUE(absl::StrContains(out, "debian\\x0a12")) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
}

}  // namespace
}  // namespace steward::collector
