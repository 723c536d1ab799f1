// Mixed versions: the collector keeps serving agents of the previous minor
// release. Their frames are frozen here as wire bytes, written field by
// field from the protocol as that release spoke it (no Hello.trusted_keys,
// no Hello.health_report_interval_ms, no metric columns, no service
// reports), not produced by today's generated code: a renumbered field, a
// changed type or a payload the collector stops accepting fails this test.
// An agent sends them over a real mutual-TLS session; the data must be
// stored and queryable as from a current agent, and what the collector
// sends back must read the same way.
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/session/agent_runner.h"
#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

// Protocol buffers wire format, by hand.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string VarintField(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3 | 0) + Varint(v); }
std::string BytesField(int field, const std::string& s) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(s.size()) + s;
}
std::string DoubleField(int field, double d) {
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &d, 8);  // little-endian on the machines we build for
  return Varint(static_cast<uint64_t>(field) << 3 | 1) + bytes;
}

// The previous release's AgentMessage: hello = 1, envelope = 2.
// Hello: agent_version = 1, capabilities = 2, last_acked_seq = 3, inventory_digest = 4.
std::string PreviousHello() {
  return BytesField(1, BytesField(1, "0.0.9") + BytesField(2, "inventory.snapshot") + BytesField(2, "metrics.v1") +
                           VarintField(3, 0));
}
// Envelope: seq = 1, created_ms = 2, inventory_snapshot = 10, metric_batch =
// 11, heartbeat = 12, health_report = 14.
std::string PreviousEnvelope(uint64_t seq, int payload_field, const std::string& payload) {
  return BytesField(2, VarintField(1, seq) + VarintField(2, absl::ToUnixMillis(absl::Now())) +
                           BytesField(payload_field, payload));
}
// InventorySnapshot: facts = 1 (HostFacts: hostname = 1, os_id = 2,
// os_name = 3, os_version = 4, arch = 6), items = 2 (SoftwareItem: source =
// 1, name = 2, version = 3, arch = 4), digest = 3.
std::string PreviousSnapshot() {
  const std::string facts = BytesField(1, "old-agent") + BytesField(2, "debian") +
                            BytesField(3, "Debian GNU/Linux 11 (bullseye)") + BytesField(4, "11") +
                            BytesField(6, "amd64");
  const std::string openssl =
      BytesField(1, "dpkg") + BytesField(2, "openssl") + BytesField(3, "1.1.1w-0+deb11u1") + BytesField(4, "amd64");
  const std::string curl = BytesField(1, "dpkg") + BytesField(2, "curl") + BytesField(3, "7.74.0-1.3+deb11u11");
  return BytesField(1, facts) + BytesField(2, openssl) + BytesField(2, curl) + BytesField(3, "digest-previous-1");
}
// MetricBatch: series = 1 (Series: name = 1, points = 3; Point: time_ms = 1, value = 2).
std::string PreviousMetrics(int64_t time_ms) {
  const std::string point = VarintField(1, static_cast<uint64_t>(time_ms)) + DoubleField(2, 12.5);
  return BytesField(1, BytesField(1, "cpu_usage_percent") + BytesField(3, point));
}
// HealthReport: checks = 1 (CheckState: name = 1, type = 2, status = 3 (OK = 1), time_ms = 5).
std::string PreviousHealth(int64_t time_ms) {
  return BytesField(1, BytesField(1, "web") + BytesField(2, "tcp") + VarintField(3, 1) +
                           VarintField(5, static_cast<uint64_t>(time_ms)));
}

void SetDeadline(grpc::ClientContext* ctx) { ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20))); }

TEST(PreviousProtocol, APreviousReleaseAgentIsServedAndItsDataQueryable) {
  testing::TempDir dir("previous-protocol");
  CollectorOptions opts;
  opts.data_dir = dir.path() + "/data";
  opts.listen = "127.0.0.1:0";
  opts.worker_threads = 2;
  auto server = CollectorServer::Start(opts);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string ca = ReadFile(opts.data_dir + "/ca.pem").value();
  auto cred = ctl::LoadAdminCredential(opts.data_dir + "/admin.conf");
  ASSERT_TRUE(cred.ok()) << cred.status();
  auto admin = ctl::MakeAdminStub(*cred);

  v1::CreateEnrollmentTokenRequest treq;
  v1::CreateEnrollmentTokenResponse token;
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    ASSERT_TRUE(admin->CreateEnrollmentToken(&ctx, treq, &token).ok());
  }
  v1::HostFacts facts;
  facts.set_hostname("old-agent");
  auto id = agent::EnrollAgent((*server)->address(), ca, token.token(), dir.path() + "/state", facts,
                               absl::Seconds(10));
  ASSERT_TRUE(id.ok()) << id.status();

  auto stub = v1::AgentService::NewStub(agent::MakeCollectorChannel((*server)->address(), ca, &*id));
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  auto stream = stub->Connect(&ctx);
  auto send = [&](const std::string& frame) {
    v1::AgentMessage m;
    ASSERT_TRUE(m.ParseFromString(frame)) << "today's code cannot read a previous-release frame";
    ASSERT_TRUE(stream->Write(m));
  };
  send(PreviousHello());
  v1::CollectorMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_TRUE(in.has_welcome()) << in.ShortDebugString();
  // What the previous agent reads of it: CollectorMessage.welcome = 1,
  // Welcome.agent_id = 1.
  const std::string welcome_bytes = in.SerializeAsString();
  EXPECT_EQ(welcome_bytes.substr(0, 1), std::string(1, static_cast<char>(1 << 3 | 2)));
  EXPECT_NE(welcome_bytes.find(BytesField(1, id->agent_id)), std::string::npos);

  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const std::string frames[] = {
      PreviousEnvelope(1, 10, PreviousSnapshot()),
      PreviousEnvelope(2, 11, PreviousMetrics(now_ms - 1000)),
      PreviousEnvelope(3, 14, PreviousHealth(now_ms - 500)),
      PreviousEnvelope(4, 12, ""),  // heartbeat
  };
  for (const std::string& f : frames) send(f);
  uint64_t acked = 0;
  while (acked < 4 && stream->Read(&in)) {
    if (!in.has_ack()) continue;
    EXPECT_EQ(in.ack().rejected(), "") << "envelope " << in.ack().seq();
    EXPECT_EQ(in.ack().warning(), "") << "envelope " << in.ack().seq();
    acked = std::max(acked, in.ack().seq());
  }
  ASSERT_EQ(acked, 4u);

  v1::ListHostsResponse hosts;
  {
    grpc::ClientContext c;
    SetDeadline(&c);
    ASSERT_TRUE(admin->ListHosts(&c, v1::ListHostsRequest(), &hosts).ok());
  }
  ASSERT_EQ(hosts.hosts_size(), 1);
  EXPECT_EQ(hosts.hosts(0).facts().hostname(), "old-agent");
  EXPECT_EQ(hosts.hosts(0).facts().os_version(), "11");
  EXPECT_EQ(hosts.hosts(0).agent_version(), "0.0.9");
  EXPECT_EQ(hosts.hosts(0).software_count(), 2u);
  EXPECT_TRUE(hosts.hosts(0).connected());

  v1::ListSoftwareRequest sreq;
  sreq.set_agent_id(id->agent_id);
  v1::ListSoftwareResponse software;
  {
    grpc::ClientContext c;
    SetDeadline(&c);
    ASSERT_TRUE(admin->ListSoftware(&c, sreq, &software).ok());
  }
  ASSERT_EQ(software.items_size(), 2) << software.ShortDebugString();
  bool openssl = false;
  for (const auto& h : software.items()) {
    openssl |= h.item().name() == "openssl" && h.item().version() == "1.1.1w-0+deb11u1" && h.hostname() == "old-agent";
  }
  EXPECT_TRUE(openssl) << software.ShortDebugString();

  v1::QueryMetricsRequest qreq;
  qreq.set_agent_id(id->agent_id);
  qreq.set_metric("cpu_usage_percent");
  qreq.set_start_ms(now_ms - 60000);
  qreq.set_end_ms(now_ms + 60000);
  v1::QueryMetricsResponse metrics;
  {
    grpc::ClientContext c;
    SetDeadline(&c);
    grpc::Status st = admin->QueryMetrics(&c, qreq, &metrics);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(metrics.series_size(), 1) << metrics.ShortDebugString();
  ASSERT_EQ(metrics.series(0).points_size(), 1);
  EXPECT_EQ(metrics.series(0).points(0).value(), 12.5);
  EXPECT_EQ(metrics.series(0).points(0).time_ms(), now_ms - 1000);

  v1::ListHealthRequest hreq;
  v1::ListHealthResponse health;
  {
    grpc::ClientContext c;
    SetDeadline(&c);
    ASSERT_TRUE(admin->ListHealth(&c, hreq, &health).ok());
  }
  ASSERT_EQ(health.checks_size(), 1) << health.ShortDebugString();
  EXPECT_EQ(health.checks(0).state().name(), "web");
  EXPECT_EQ(health.checks(0).state().status(), v1::CheckState::OK);
  // The previous agent announced no report interval: 60 s is assumed, so
  // a report half a second old is fresh.
  EXPECT_FALSE(health.checks(0).stale()) << health.ShortDebugString();

  stream->WritesDone();
  ctx.TryCancel();
  stream->Finish();
}

}  // namespace
}  // namespace steward::collector
