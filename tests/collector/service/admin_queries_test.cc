// The admin API's filters and what it tells an operator before a change, on
// a real collector (127.0.0.1:0, a temporary data directory, real TLS) with
// agents on real Connect streams: name globs and sources for software and
// changes, check states (filters, staleness, checks that went away, across a
// restart), label rules, hostnames of jobs, and whether the target hosts
// trust an artifact's signers.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "collector/service/collector_server.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/signing/artifact_signature.h"
#include "common/signing/ed25519.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"
#include "tests/agent/jobs/signed_job.h"
#include "tests/collector/service/running_agent.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>;

template <typename Req, typename Resp>
using AdminCall = grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*, const Req&, Resp*);

v1::SoftwareItem Item(const std::string& source, const std::string& name, const std::string& version) {
  v1::SoftwareItem i;
  i.set_source(source);
  i.set_name(name);
  i.set_version(version);
  i.set_arch("amd64");
  return i;
}

v1::CheckState Check(const std::string& name, v1::CheckState::Status status) {
  v1::CheckState c;
  c.set_name(name);
  c.set_type("tcp");
  c.set_status(status);
  c.set_time_ms(absl::ToUnixMillis(absl::Now()));
  c.set_since_ms(c.time_ms());
  return c;
}

// One enrolled agent and its Connect stream, driven by the test.
struct FakeAgent {
  std::string name;
  agent::AgentIdentity id;
  std::unique_ptr<v1::AgentService::Stub> stub;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<Stream> stream;
  uint64_t seq = 0;

  // Sends `env` (with the next seq) and reads until its ack.
  void Send(v1::Envelope env) {
    env.set_seq(++seq);
    env.set_created_ms(absl::ToUnixMillis(absl::Now()));
    v1::AgentMessage m;
    *m.mutable_envelope() = std::move(env);
    ASSERT_TRUE(stream->Write(m));
    v1::CollectorMessage in;
    while (stream->Read(&in)) {
      if (in.has_ack() && in.ack().seq() == seq) {
        ASSERT_TRUE(in.ack().rejected().empty()) << in.ack().rejected();
        return;
      }
    }
    FAIL() << name << ": stream ended before the ack of " << seq;
  }
  void SendHealth(const std::vector<v1::CheckState>& checks) {
    v1::Envelope env;
    for (const v1::CheckState& c : checks) *env.mutable_health_report()->add_checks() = c;
    if (checks.empty()) env.mutable_health_report();
    Send(std::move(env));
  }
  void SendInventory(const std::vector<v1::SoftwareItem>& items) {
    v1::Envelope env;
    env.mutable_inventory_snapshot()->mutable_facts()->set_hostname(name);
    for (const v1::SoftwareItem& i : items) *env.mutable_inventory_snapshot()->add_items() = i;
    Send(std::move(env));
  }
  void Disconnect() {
    if (!stream) return;
    stream->WritesDone();
    v1::CollectorMessage ignored;
    while (stream->Read(&ignored)) {
    }
    stream->Finish().IgnoreError();
    stream.reset();
  }
};

class AdminQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartCollector()); }
  void TearDown() override {
    for (auto& a : agents_) a->Disconnect();
    server_.reset();
  }

  void StartCollector() {
    CollectorOptions opts;
    opts.data_dir = dir_.path() + "/data";
    opts.listen = "127.0.0.1:0";
    opts.worker_threads = 2;
    opts.now = [this] { return absl::Now() + absl::Seconds(clock_offset_s_.load()); };
    auto server = CollectorServer::Start(opts);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto cred = ctl::LoadAdminCredential(opts.data_dir + "/admin.conf");
    ASSERT_TRUE(cred.ok()) << cred.status();
    admin_ = ctl::MakeAdminStub(*cred);
    ca_pem_ = cred->ca_pem;
  }
  void RestartCollector() {
    for (auto& a : agents_) a->Disconnect();
    server_.reset();
    ASSERT_NO_FATAL_FAILURE(StartCollector());
  }
  void AdvanceClock(absl::Duration d) { clock_offset_s_ += absl::ToInt64Seconds(d); }

  template <typename Req, typename Resp>
  grpc::Status Call(AdminCall<Req, Resp> method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ((*admin_).*method)(&ctx, req, resp);
  }

  // Enrolls an agent named `name` (its hostname too) with `labels`.
  FakeAgent* Enroll(const std::string& name, const std::vector<v1::Label>& labels = {}) {
    v1::CreateEnrollmentTokenRequest token_req;
    for (const v1::Label& l : labels) *token_req.add_labels() = l;
    v1::CreateEnrollmentTokenResponse token;
    EXPECT_TRUE(Call(&v1::AdminService::Stub::CreateEnrollmentToken, token_req, &token).ok());
    v1::HostFacts facts;
    facts.set_hostname(name);
    auto id = agent::EnrollAgent(server_->address(), ca_pem_, token.token(), dir_.path() + "/state-" + name, facts,
                                 absl::Seconds(10));
    EXPECT_TRUE(id.ok()) << id.status();
    agents_.push_back(std::make_unique<FakeAgent>());
    agents_.back()->name = name;
    agents_.back()->id = id.ok() ? *id : agent::AgentIdentity{};
    return agents_.back().get();
  }
  // Waits until the collector counts `a` connected (or not).
  void WaitUntilConnected(FakeAgent* a, bool want = true) {
    for (int i = 0; i < 500; ++i) {
      v1::ListHostsResponse hosts;
      ASSERT_TRUE(Call(&v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &hosts).ok());
      bool connected = false;
      for (const v1::Host& h : hosts.hosts()) connected |= h.agent_id() == a->id.agent_id && h.connected();
      if (connected == want) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
    FAIL() << a->name << (want ? " never connected" : " still counts as connected");
  }
  // Ends `a`'s stream and waits until the collector no longer counts it
  // connected.
  void DisconnectAndWait(FakeAgent* a) {
    a->Disconnect();
    WaitUntilConnected(a, false);
  }
  // Opens `a`'s stream with `hello` (version set here) and reads the Welcome.
  void Connect(FakeAgent* a, v1::Hello hello = v1::Hello()) {
    hello.set_agent_version("test-1.0");
    a->stub = v1::AgentService::NewStub(agent::MakeCollectorChannel(server_->address(), ca_pem_, &a->id));
    a->ctx = std::make_unique<grpc::ClientContext>();
    a->ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    a->stream = a->stub->Connect(a->ctx.get());
    v1::AgentMessage m;
    *m.mutable_hello() = std::move(hello);
    ASSERT_TRUE(a->stream->Write(m));
    v1::CollectorMessage in;
    ASSERT_TRUE(a->stream->Read(&in));
    ASSERT_TRUE(in.has_welcome()) << in.ShortDebugString();
    a->seq = in.welcome().last_applied_seq();
  }

  // Stores a tcp check `name` (port 9) for every host, selected by `selector`.
  grpc::Status PutTcpCheck(const std::string& name, const std::vector<v1::Label>& selector = {}) {
    v1::PutCheckRequest put;
    put.mutable_check()->mutable_spec()->set_name(name);
    put.mutable_check()->mutable_spec()->set_type("tcp");
    (*put.mutable_check()->mutable_spec()->mutable_params())["address"] = "127.0.0.1:9";
    for (const v1::Label& l : selector) *put.mutable_check()->add_selector() = l;
    v1::PutCheckResponse resp;
    return Call(&v1::AdminService::Stub::PutCheck, put, &resp);
  }

  v1::ListHealthResponse Health(v1::ListHealthRequest req = v1::ListHealthRequest()) {
    v1::ListHealthResponse resp;
    grpc::Status st = Call(&v1::AdminService::Stub::ListHealth, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  testing::TempDir dir_;
  std::atomic<int64_t> clock_offset_s_{0};
  std::unique_ptr<CollectorServer> server_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::string ca_pem_;
  std::vector<std::unique_ptr<FakeAgent>> agents_;
};

std::vector<std::string> Names(const v1::ListSoftwareResponse& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items()) out.push_back(absl::StrCat(i.item().source(), ":", i.item().name()));
  return out;
}

TEST_F(AdminQueriesTest, SoftwareNameIsAGlobCaseFoldedWherePackageNamesAreAndSourceFilters) {
  FakeAgent* a = Enroll("web-1");
  ASSERT_NO_FATAL_FAILURE(Connect(a));
  ASSERT_NO_FATAL_FAILURE(a->SendInventory({Item("dpkg", "libssl3", "3.0.11-1"), Item("dpkg", "libssl-dev", "3.0.11-1"),
                                            Item("dpkg", "openssl", "3.0.11-1"), Item("dpkg", "Xorg-Base", "1"),
                                            Item("pip", "Django", "4.2"), Item("pip", "requests", "2.31.0")}));
  const auto list = [&](const std::string& name, const std::string& source = "") {
    v1::ListSoftwareRequest req;
    req.set_name(name);
    req.set_source(source);
    v1::ListSoftwareResponse resp;
    grpc::Status st = Call(&v1::AdminService::Stub::ListSoftware, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return Names(resp);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list("libssl*"), (V{"dpkg:libssl-dev", "dpkg:libssl3"}));
  EXPECT_EQ(list("libssl?"), (V{"dpkg:libssl3"}));
  EXPECT_EQ(list("openssl"), (V{"dpkg:openssl"}));
  EXPECT_EQ(list("OpenSSL"), V{});  // dpkg names keep their case
  EXPECT_EQ(list("xorg-base"), V{});
  EXPECT_EQ(list("django"), (V{"pip:Django"}));  // pip's do not
  EXPECT_EQ(list("DJ*"), (V{"pip:Django"}));
  EXPECT_EQ(list("*s*", "pip"), (V{"pip:requests"}));
  EXPECT_EQ(list("", "pip"), (V{"pip:Django", "pip:requests"}));
  EXPECT_EQ(list("[a-m]*"), (V{"dpkg:libssl-dev", "dpkg:libssl3", "pip:Django"}));

  v1::ListSoftwareRequest broken;
  broken.set_name("lib[ssl");
  v1::ListSoftwareResponse resp;
  grpc::Status st = Call(&v1::AdminService::Stub::ListSoftware, broken, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "name pattern 'lib[ssl'")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "'[' is not closed")) << st.error_message();
}

// Across hosts a name with a known start is answered from the index by
// name; one host's answer comes from its inventory. Both agree, in order.
TEST_F(AdminQueriesTest, SoftwareByNameFromTheIndexMatchesEachHostsOwnList) {
  std::vector<FakeAgent*> hosts;
  for (const char* n : {"db-2", "web-1", "app-3"}) {
    FakeAgent* a = Enroll(n);
    ASSERT_NO_FATAL_FAILURE(Connect(a));
    hosts.push_back(a);
  }
  ASSERT_NO_FATAL_FAILURE(hosts[0]->SendInventory({Item("dpkg", "libssl3", "3.0.11-1"), Item("pip", "LibSSL-Py", "1"),
                                                   Item("dpkg", "openssl", "3.0.11-1")}));
  ASSERT_NO_FATAL_FAILURE(hosts[1]->SendInventory({Item("dpkg", "libssl3", "3.0.13-1"), Item("dpkg", "libc6", "2.36"),
                                                   Item("npm", "libsodium", "0.7")}));
  ASSERT_NO_FATAL_FAILURE(hosts[2]->SendInventory({Item("dpkg", "LIBSSL-X", "1"), Item("dpkg", "zlib1g", "1")}));
  const auto rows = [&](const std::string& name, const std::string& agent_id) {
    v1::ListSoftwareRequest req;
    req.set_name(name);
    req.set_agent_id(agent_id);
    v1::ListSoftwareResponse resp;
    grpc::Status st = Call(&v1::AdminService::Stub::ListSoftware, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    for (const auto& i : resp.items()) {
      out.push_back(absl::StrCat(i.hostname(), " ", i.item().source(), ":", i.item().name(), "=", i.item().version()));
    }
    return out;
  };
  v1::ListHostsResponse all;
  ASSERT_TRUE(Call(&v1::AdminService::Stub::ListHosts, v1::ListHostsRequest(), &all).ok());
  for (const std::string name : {"libssl*", "lib*", "libssl3", "LIB*", "l", "openssl", "zz*"}) {
    std::vector<std::string> per_host;
    for (const auto& h : all.hosts()) {
      for (auto& r : rows(name, h.agent_id())) per_host.push_back(std::move(r));
    }
    EXPECT_EQ(rows(name, ""), per_host) << name;
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(rows("libssl*", "").size(), 3u) << ::testing::PrintToString(rows("libssl*", ""));  // not LIBSSL-X (dpkg)
  EXPECT_EQ(rows("libssl-p*", ""), (V{"db-2 pip:LibSSL-Py=1"}));
}

TEST_F(AdminQueriesTest, ChangesFilterByNameGlobAndSourceBeforeTheLimit) {
  FakeAgent* a = Enroll("web-1");
  ASSERT_NO_FATAL_FAILURE(Connect(a));
  ASSERT_NO_FATAL_FAILURE(a->SendInventory({Item("dpkg", "libssl3", "3.0.11-1"), Item("pip", "Django", "4.2")}));
  ASSERT_NO_FATAL_FAILURE(a->SendInventory({Item("dpkg", "libssl3", "3.0.13-1"), Item("pip", "Django", "4.2.1"),
                                            Item("dpkg", "curl", "7.88"), Item("pip", "requests", "2.31.0")}));
  const auto changes = [&](const std::string& name, const std::string& source, uint32_t limit = 0) {
    v1::ListChangesRequest req;
    req.set_name(name);
    req.set_source(source);
    req.set_limit(limit);
    v1::ListChangesResponse resp;
    grpc::Status st = Call(&v1::AdminService::Stub::ListChanges, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    for (const auto& c : resp.changes()) out.push_back(absl::StrCat(c.change().source(), ":", c.change().name()));
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(changes("", ""), (V{"dpkg:curl", "dpkg:libssl3", "pip:Django", "pip:requests"}));
  EXPECT_EQ(changes("libssl*", ""), (V{"dpkg:libssl3"}));
  EXPECT_EQ(changes("django", ""), (V{"pip:Django"}));
  EXPECT_EQ(changes("", "pip"), (V{"pip:Django", "pip:requests"}));
  EXPECT_EQ(changes("c*", "pip"), V{});
  // The filter applies before the limit: one change of curl, not none.
  EXPECT_EQ(changes("curl", "", 1), (V{"dpkg:curl"}));

  v1::ListChangesRequest broken;
  broken.set_name("x[z-a]");
  v1::ListChangesResponse resp;
  EXPECT_EQ(Call(&v1::AdminService::Stub::ListChanges, broken, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminQueriesTest, HealthFiltersByStateAndNameAndRefusesUnknownStatesNamingTheAccepted) {
  FakeAgent* a = Enroll("web-1");
  v1::Hello hello;
  hello.set_health_report_interval_ms(60000);
  ASSERT_NO_FATAL_FAILURE(Connect(a, hello));
  ASSERT_NO_FATAL_FAILURE(a->SendHealth({Check("api", v1::CheckState::OK), Check("db", v1::CheckState::DOWN),
                                         Check("disk", v1::CheckState::DEGRADED)}));
  const auto names = [&](const std::string& state, const std::string& name) {
    v1::ListHealthRequest req;
    req.set_state(state);
    req.set_name(name);
    const v1::ListHealthResponse resp = Health(req);
    std::vector<std::string> out;
    for (const auto& c : resp.checks()) out.push_back(c.state().name());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("", ""), (V{"api", "db", "disk"}));
  EXPECT_EQ(names("down", ""), (V{"db"}));
  EXPECT_EQ(names("degraded", ""), (V{"disk"}));
  EXPECT_EQ(names("ok", ""), (V{"api"}));
  EXPECT_EQ(names("", "d*"), (V{"db", "disk"}));
  EXPECT_EQ(names("ok", "d*"), V{});
  EXPECT_EQ(names("stale", ""), V{});

  v1::ListHealthRequest bad;
  bad.set_state("failed");
  v1::ListHealthResponse resp;
  grpc::Status st = Call(&v1::AdminService::Stub::ListHealth, bad, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "unknown check state 'failed'; use one of ok, degraded, down, unknown, stale");
}

TEST_F(AdminQueriesTest, HealthIsStaleWhenTheHostIsOfflineOrItsReportIsOlderThanThreeIntervals) {
  FakeAgent* a = Enroll("web-1");
  v1::Hello hello;
  hello.set_health_report_interval_ms(60000);
  ASSERT_NO_FATAL_FAILURE(Connect(a, hello));
  ASSERT_NO_FATAL_FAILURE(a->SendHealth({Check("api", v1::CheckState::OK)}));
  v1::ListHealthResponse fresh = Health();
  ASSERT_EQ(fresh.checks_size(), 1);
  EXPECT_FALSE(fresh.checks(0).stale());
  EXPECT_EQ(fresh.checks(0).stale_reason(), "");

  // Connected, but silent for more than 3 intervals of 60 s.
  AdvanceClock(absl::Minutes(2) + absl::Seconds(50));
  EXPECT_FALSE(Health().checks(0).stale());
  AdvanceClock(absl::Seconds(20));
  v1::ListHealthResponse silent = Health();
  ASSERT_EQ(silent.checks_size(), 1);
  EXPECT_TRUE(silent.checks(0).stale());
  EXPECT_TRUE(absl::StartsWith(silent.checks(0).stale_reason(), "last health report 3m1")) << silent.checks(0).stale_reason();
  EXPECT_TRUE(absl::EndsWith(silent.checks(0).stale_reason(), "ago (expected every 1m)"))
      << silent.checks(0).stale_reason();
  v1::ListHealthRequest stale_only;
  stale_only.set_state("stale");
  EXPECT_EQ(Health(stale_only).checks_size(), 1);
  v1::ListHealthRequest ok_only;
  ok_only.set_state("ok");
  EXPECT_EQ(Health(ok_only).checks_size(), 1);  // by status, stale or not

  // A new report makes it fresh again.
  ASSERT_NO_FATAL_FAILURE(a->SendHealth({Check("api", v1::CheckState::OK)}));
  EXPECT_FALSE(Health().checks(0).stale());

  // Offline: stale at once, saying since when.
  ASSERT_NO_FATAL_FAILURE(DisconnectAndWait(a));
  v1::ListHealthResponse offline = Health();
  ASSERT_EQ(offline.checks_size(), 1);
  EXPECT_TRUE(offline.checks(0).stale());
  EXPECT_TRUE(absl::StartsWith(offline.checks(0).stale_reason(), "host offline since 20"))
      << offline.checks(0).stale_reason();
  EXPECT_TRUE(absl::EndsWith(offline.checks(0).stale_reason(), "Z")) << offline.checks(0).stale_reason();
}

TEST_F(AdminQueriesTest, ACheckTheAgentNoLongerReportsLeavesHealthAlsoAfterARestart) {
  FakeAgent* a = Enroll("web-1");
  ASSERT_NO_FATAL_FAILURE(Connect(a));
  for (const char* name : {"a", "b"}) ASSERT_TRUE(PutTcpCheck(name).ok());
  ASSERT_NO_FATAL_FAILURE(a->SendHealth({Check("a", v1::CheckState::OK), Check("b", v1::CheckState::DOWN)}));
  ASSERT_EQ(Health().checks_size(), 2);

  v1::DeleteCheckRequest del;
  del.set_name("b");
  v1::DeleteCheckResponse deleted;
  ASSERT_TRUE(Call(&v1::AdminService::Stub::DeleteCheck, del, &deleted).ok());
  ASSERT_NO_FATAL_FAILURE(a->SendHealth({Check("a", v1::CheckState::OK)}));
  v1::ListHealthResponse after = Health();
  ASSERT_EQ(after.checks_size(), 1);
  EXPECT_EQ(after.checks(0).state().name(), "a");

  ASSERT_NO_FATAL_FAILURE(RestartCollector());
  v1::ListHealthResponse restarted = Health();
  ASSERT_EQ(restarted.checks_size(), 1);
  EXPECT_EQ(restarted.checks(0).state().name(), "a");
  EXPECT_TRUE(restarted.checks(0).stale());  // not connected to this collector yet

  // An agent that runs no check any more reports none: nothing is listed.
  ASSERT_NO_FATAL_FAILURE(Connect(a));
  ASSERT_NO_FATAL_FAILURE(a->SendHealth({}));
  EXPECT_EQ(Health().checks_size(), 0);
}

// The same with a real agent, which reports only the checks it runs now.
TEST_F(AdminQueriesTest, ARealAgentsDeletedCheckLeavesHealth) {
  FakeAgent* a = Enroll("web-real");
  for (const char* name : {"a", "b"}) ASSERT_TRUE(PutTcpCheck(name).ok());
  testing::RunningAgent agent(
      testing::HermeticAgentConfig(server_->address(), dir_.path() + "/state-web-real", absl::Seconds(1)), ca_pem_,
      a->id);
  const auto names_within = [&](const std::vector<std::string>& want) {
    std::vector<std::string> got;
    for (int i = 0; i < 1000 && got != want; ++i) {
      if (i > 0) absl::SleepFor(absl::Milliseconds(20));
      const v1::ListHealthResponse resp = Health();
      got.clear();
      for (const auto& c : resp.checks()) got.push_back(c.state().name());
    }
    return got;
  };
  ASSERT_EQ(names_within({"a", "b"}), (std::vector<std::string>{"a", "b"}));
  v1::DeleteCheckRequest del;
  del.set_name("b");
  v1::DeleteCheckResponse deleted;
  ASSERT_TRUE(Call(&v1::AdminService::Stub::DeleteCheck, del, &deleted).ok());
  EXPECT_EQ(names_within({"a"}), std::vector<std::string>{"a"});
}

TEST_F(AdminQueriesTest, LabelsATargetExpressionCannotNameAreRefusedEverywhere) {
  for (const std::string& key : {std::string("my key"), std::string("a=b"), std::string("\"q\"")}) {
    v1::CreateEnrollmentTokenRequest token;
    auto* l = token.add_labels();
    l->set_name(key);
    l->set_value("x");
    v1::CreateEnrollmentTokenResponse created;
    grpc::Status st = Call(&v1::AdminService::Stub::CreateEnrollmentToken, token, &created);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << key;
    EXPECT_TRUE(absl::StrContains(st.error_message(), "letters, digits, '_', '.', '-' or '/'")) << st.error_message();

    st = PutTcpCheck("c", {*l});
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << key;
    EXPECT_TRUE(absl::StartsWith(st.error_message(), "check selector: label '")) << st.error_message();
  }
  v1::CreateEnrollmentTokenRequest ok;
  auto* l = ok.add_labels();
  l->set_name("team-name");
  l->set_value("db ops");
  v1::CreateEnrollmentTokenResponse created;
  EXPECT_TRUE(Call(&v1::AdminService::Stub::CreateEnrollmentToken, ok, &created).ok());
}

// --- artifacts the target hosts may not trust ---

class ArtifactTrustTest : public AdminQueriesTest {
 protected:
  // Pushes `content` as demo 1.0, signed by `key` when given; its sha256.
  std::string Push(const std::string& content, const Ed25519PrivateKey* key) {
    v1::PushArtifactRequest header;
    header.mutable_header()->set_name("demo");
    header.mutable_header()->set_version("1.0");
    header.mutable_header()->set_size(content.size());
    header.mutable_header()->set_sha256(Sha256Hex(content));
    if (key != nullptr) {
      header.mutable_header()->mutable_signature()->set_public_key(key->public_key().raw());
      header.mutable_header()->mutable_signature()->set_signature(
          key->Sign(ArtifactStatement(Sha256Hex(content), "demo", "1.0")));
    }
    v1::PushArtifactRequest chunk;
    chunk.set_chunk(content);
    v1::PushArtifactResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto writer = admin_->PushArtifact(&ctx, &resp);
    writer->Write(header);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return Sha256Hex(content);
  }
  // Connects `a` saying it trusts `keys`.
  void ConnectTrusting(FakeAgent* a, const std::vector<const Ed25519PrivateKey*>& keys) {
    v1::Hello hello;
    hello.mutable_trusted_keys();
    for (const auto* k : keys) hello.mutable_trusted_keys()->add_key_ids(k->public_key().key_id());
    ASSERT_NO_FATAL_FAILURE(Connect(a, hello));
  }
  grpc::Status RunInstall(FakeAgent* a, const std::string& sha256, v1::RunJobResponse* resp) {
    v1::JobSpec spec;
    spec.mutable_install_artifact()->set_sha256(sha256);
    v1::RunJobRequest req;
    req.set_agent_id(a->id.agent_id);
    *req.mutable_spec() = agent::testing::Signed(spec, absl::ToUnixMillis(absl::Now()), a->id.agent_id);
    return Call(&v1::AdminService::Stub::RunJob, req, resp);
  }
  grpc::Status PlanDeployment(const std::string& sha256, v1::CreateDeploymentResponse* resp) {
    v1::CreateDeploymentRequest req;
    req.mutable_spec()->set_artifact_sha256(sha256);
    req.mutable_spec()->set_target("label:suite=trust");
    req.set_dry_run(true);
    return Call(&v1::AdminService::Stub::CreateDeployment, req, resp);
  }
  FakeAgent* EnrollLabelled(const std::string& name) {
    v1::Label suite;
    suite.set_name("suite");
    suite.set_value("trust");
    return Enroll(name, {suite});
  }

  const Ed25519PrivateKey release_ = Ed25519PrivateKey::Generate();
  const Ed25519PrivateKey other_ = Ed25519PrivateKey::Generate();
};

TEST_F(ArtifactTrustTest, RunJobWarnsOrRefusesByWhatTheHostTrusts) {
  FakeAgent* trusting = Enroll("web-trusting");
  FakeAgent* stranger = Enroll("web-stranger");
  FakeAgent* offline = Enroll("web-offline");
  ASSERT_NO_FATAL_FAILURE(ConnectTrusting(trusting, {&release_}));
  ASSERT_NO_FATAL_FAILURE(ConnectTrusting(stranger, {&other_}));
  const std::string signed_sha = Push("signed content", &release_);
  const std::string unsigned_sha = Push("unsigned content", nullptr);

  v1::RunJobResponse resp;
  grpc::Status st = RunInstall(trusting, signed_sha, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.warnings_size(), 0) << resp.warnings(0);

  // The one host trusts none of the signers: refused, saying what to do.
  st = RunInstall(stranger, signed_sha, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "no connected target host would install artifact demo 1.0"))
      << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), release_.public_key().key_id())) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "web-stranger")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "stewardctl artifact push FILE --sign-key")) << st.error_message();

  st = RunInstall(trusting, unsigned_sha, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "it is unsigned")) << st.error_message();

  // Offline: unknown, a warning only (the job waits for the host).
  v1::RunJobResponse queued;
  st = RunInstall(offline, unsigned_sha, &queued);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(queued.warnings_size(), 2);
  EXPECT_TRUE(absl::StrContains(queued.warnings(0), "is unsigned")) << queued.warnings(0);
  EXPECT_TRUE(absl::StrContains(queued.warnings(1), "1 host offline")) << queued.warnings(1);

  // Job tables can show host names.
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(Call(&v1::AdminService::Stub::ListJobs, v1::ListJobsRequest(), &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 2);
  EXPECT_EQ(jobs.hostnames().at(trusting->id.agent_id), "web-trusting");
  EXPECT_EQ(jobs.hostnames().at(offline->id.agent_id), "web-offline");
  EXPECT_EQ(jobs.hostnames().size(), 2u);
}

// A real agent tells the collector the key ids of its --trusted-key files.
TEST_F(ArtifactTrustTest, ARealAgentSaysWhichKeysItTrusts) {
  FakeAgent* a = Enroll("web-real");
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/release.pub", release_.public_key().ToPem()).ok());
  agent::AgentConfig config =
      testing::HermeticAgentConfig(server_->address(), dir_.path() + "/state-web-real", absl::Seconds(1));
  config.trusted_keys = {dir_.path() + "/release.pub"};
  testing::RunningAgent agent(std::move(config), ca_pem_, a->id);
  const std::string signed_sha = Push("signed content", &release_);
  const std::string other_sha = Push("other content", &other_);
  ASSERT_NO_FATAL_FAILURE(WaitUntilConnected(a));
  v1::RunJobResponse resp;
  grpc::Status st = RunInstall(a, other_sha, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), other_.public_key().key_id())) << st.error_message();
  st = RunInstall(a, signed_sha, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.warnings_size(), 0);
}

TEST_F(ArtifactTrustTest, DeploymentPlansWarnAboutHostsThatWillRefuseAndRefuseWhenNoneWouldAccept) {
  FakeAgent* trusting = EnrollLabelled("web-trusting");
  FakeAgent* stranger = EnrollLabelled("web-stranger");
  FakeAgent* old_agent = EnrollLabelled("web-old");
  EnrollLabelled("web-offline");
  ASSERT_NO_FATAL_FAILURE(ConnectTrusting(trusting, {&release_, &other_}));
  ASSERT_NO_FATAL_FAILURE(ConnectTrusting(stranger, {&other_}));
  ASSERT_NO_FATAL_FAILURE(Connect(old_agent));  // says nothing of its keys
  const std::string signed_sha = Push("signed content", &release_);

  v1::CreateDeploymentResponse plan;
  grpc::Status st = PlanDeployment(signed_sha, &plan);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(plan.deployment().hosts_size(), 4);
  ASSERT_EQ(plan.warnings_size(), 3);
  EXPECT_TRUE(absl::StartsWith(plan.warnings(0), "1 of 3 hosts connected will refuse artifact demo 1.0"))
      << plan.warnings(0);
  EXPECT_TRUE(absl::EndsWith(plan.warnings(0), ": web-stranger")) << plan.warnings(0);
  EXPECT_TRUE(absl::StartsWith(plan.warnings(1), "1 host did not say which publisher keys")) << plan.warnings(1);
  EXPECT_TRUE(absl::StartsWith(plan.warnings(2), "1 host offline")) << plan.warnings(2);

  // Unsigned: every connected host that said what it trusts refuses, but
  // the old agent might not: warnings only.
  const std::string unsigned_sha = Push("unsigned content", nullptr);
  st = PlanDeployment(unsigned_sha, &plan);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(absl::StrContains(plan.warnings(0), "is unsigned")) << plan.warnings(0);
  EXPECT_TRUE(absl::StartsWith(plan.warnings(1), "2 of 3 hosts connected will refuse")) << plan.warnings(1);

  // Without the old agent no connected host would accept it: refused.
  ASSERT_NO_FATAL_FAILURE(DisconnectAndWait(old_agent));
  st = PlanDeployment(unsigned_sha, &plan);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "it is unsigned")) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "(2 hosts connected: web-")) << st.error_message();
}

}  // namespace
}  // namespace steward::collector
