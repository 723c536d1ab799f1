// Steward's side of the TSDB benchmark (tests/bench/tsdb.sh), talking to a
// running steward-collector with the admin credential (admin.conf):
//
//   tsdb_steward ingest --admin-config FILE --state DIR [--hosts 1000] [--steps 500]
//                [--start-ms T] [--interval-ms 10000] [--seed 1] [--clients 2]
//   tsdb_steward query  --admin-config FILE [--hosts 1000] --start-ms T0 --end-ms T1
//                [--runs 20] [--seed 7] [--only QUERY[,QUERY...]] [--pause-us N]
//                [--times-to FILE]
//
// ingest enrolls --clients agents (identities under DIR) and has each send
// its share of the devops hosts (host i -> client i % clients) through the
// agents' real path: a mutual-TLS Connect stream, Hello, then one Envelope
// per step holding a MetricBatch of its hosts' 20 series (labels: the TSBS
// tags) in the columns form agents send, written without waiting for acks,
// like an agent's outbox. It ends when the last envelope is acked (applied and synced) and prints
//   RESULT steward_ingest samples=N seconds=S samples_per_s=R
// query runs TSBS's devops queries through AdminService.QueryMetrics on one
// kept channel, --runs times each after one warm-up, with seeded random hosts
// and windows, and prints q_<name>_p50_ms=... q_<name>_p99_ms=... on one line;
// with --times-to it also appends every timed run to FILE as "<name> <ms>"
// (tsdb.sh pools several such blocks, interleaved with VictoriaMetrics's).

#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/session/identity.h"
#include "collector/ctl/admin_client.h"
#include "common/file_util.h"
#include "common/metrics/series_columns.h"
#include "steward/v1/admin.grpc.pb.h"
#include "steward/v1/agent.grpc.pb.h"
#include "tests/bench/devops_data.h"

namespace {

using steward::bench::DevopsHost;
using steward::bench::DevopsOptions;
using steward::bench::kCpuFields;
using steward::bench::kMemFields;
namespace v1 = steward::v1;

constexpr int64_t kHourMs = 3600000;

struct Args {
  std::string mode, admin_config, state;
  DevopsOptions data;
  int clients = 2;
  int runs = 20;
  int64_t end_ms = 0;
  uint64_t query_seed = 7;
  std::string only;  // query: run just these TSBS queries, comma-separated (for profiling)
  int pause_us = 0;  // query: idle time before each timed call (for profiling idle wake-ups)
  std::string times_to;  // query: append "<name> <ms>" per timed run to this file
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

Args ParseArgs(int argc, char** argv) {
  if (argc < 2) Die("usage: tsdb_steward ingest|query --admin-config FILE ... (see the file's comment)");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) Die(k + " needs a value");
    std::string v = argv[i + 1];
    auto num = [&]() -> long long {
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') Die(k + " '" + v + "' is not a number");
      return n;
    };
    if (k == "--admin-config") a.admin_config = v;
    else if (k == "--state") a.state = v;
    else if (k == "--hosts") a.data.hosts = static_cast<int>(num());
    else if (k == "--steps") a.data.steps = static_cast<int>(num());
    else if (k == "--start-ms") a.data.start_ms = num();
    else if (k == "--end-ms") a.end_ms = num();
    else if (k == "--interval-ms") a.data.interval_ms = num();
    else if (k == "--seed") (a.mode == "query" ? a.query_seed : a.data.seed) = static_cast<uint64_t>(num());
    else if (k == "--clients") a.clients = static_cast<int>(num());
    else if (k == "--runs") a.runs = static_cast<int>(num());
    else if (k == "--only") a.only = v;
    else if (k == "--pause-us") a.pause_us = static_cast<int>(num());
    else if (k == "--times-to") a.times_to = v;
    else Die("unknown argument " + k);
  }
  if (a.admin_config.empty()) Die("--admin-config is required");
  if (a.data.hosts < 1 || a.data.steps < 1 || a.clients < 1 || a.runs < 1) Die("sizes must be above 0");
  return a;
}

template <typename Fn>
grpc::Status WithDeadline(Fn fn, int seconds = 600) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return fn(&ctx);
}

// One client: its hosts' envelopes over one agent stream. Returns false
// (after printing why) on any failure.
bool RunClient(int client, const Args& a, const steward::agent::AgentIdentity& id,
               const std::string& collector, const std::string& ca_pem) {
  std::vector<std::unique_ptr<DevopsHost>> hosts;
  for (int h = client; h < a.data.hosts; h += a.clients) hosts.push_back(std::make_unique<DevopsHost>(h, a.data));
  auto stub = v1::AgentService::NewStub(steward::agent::MakeCollectorChannel(collector, ca_pem, &id));
  grpc::ClientContext ctx;
  auto stream = stub->Connect(&ctx);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_agent_version("tsdb-bench");
  v1::CollectorMessage in;
  if (!stream->Write(hello) || !stream->Read(&in) || !in.has_welcome()) {
    std::fprintf(stderr, "client %d: no Welcome: %s\n", client, stream->Finish().error_message().c_str());
    return false;
  }
  const uint64_t first_seq = in.welcome().last_applied_seq() + 1;
  const uint64_t last_seq = first_seq + static_cast<uint64_t>(a.data.steps) - 1;
  std::atomic<bool> acked_all{false};
  std::thread reader([&] {
    v1::CollectorMessage msg;
    while (stream->Read(&msg)) {
      if (msg.has_ack() && !msg.ack().rejected().empty()) {
        std::fprintf(stderr, "client %d: envelope %llu refused: %s\n", client,
                     static_cast<unsigned long long>(msg.ack().seq()), msg.ack().rejected().c_str());
      }
      if (msg.has_ack() && msg.ack().seq() >= last_seq) {
        acked_all = true;
        break;
      }
    }
  });
  std::array<double, 10> cpu{}, mem{};
  std::vector<std::string> cpu_names, mem_names;
  for (const char* f : kCpuFields) cpu_names.push_back(std::string("cpu_") + f);
  for (const char* f : kMemFields) mem_names.push_back(std::string("mem_") + f);
  int64_t t = 0;
  bool ok = true;
  for (int s = 0; s < a.data.steps && ok; ++s) {
    v1::AgentMessage msg;
    v1::Envelope* env = msg.mutable_envelope();
    env->set_seq(first_seq + static_cast<uint64_t>(s));
    // The columns form, as agents send it (agent/session/reports.cc), with
    // each host's tags interned once per envelope rather than per series.
    steward::metrics::SeriesColumnsBuilder columns(env->mutable_metric_batch()->mutable_columns());
    std::vector<uint32_t> cpu_syms, mem_syms;
    for (const auto& n : cpu_names) cpu_syms.push_back(columns.Symbol(n));
    for (const auto& n : mem_names) mem_syms.push_back(columns.Symbol(n));
    std::vector<std::pair<uint32_t, uint32_t>> tags;
    for (auto& host : hosts) {
      host->Next(&t, &cpu, &mem);
      tags.clear();
      for (const auto& [k, v] : host->tags()) {
        const uint32_t name = columns.Symbol(k);
        tags.emplace_back(name, columns.Symbol(v));
      }
      for (size_t i = 0; i < cpu.size(); ++i) {
        columns.AddSeries(cpu_syms[i], tags, false);
        columns.AddPoint(t, cpu[i]);
      }
      for (size_t i = 0; i < mem.size(); ++i) {
        columns.AddSeries(mem_syms[i], tags, false);
        columns.AddPoint(t, mem[i]);
      }
    }
    env->set_created_ms(t);
    ok = stream->Write(msg);
  }
  stream->WritesDone();
  reader.join();
  grpc::Status st = stream->Finish();
  if (!ok || !acked_all) {
    std::fprintf(stderr, "client %d: stream ended before every envelope was acked: %s\n", client,
                 st.error_message().c_str());
    return false;
  }
  return true;
}

int Ingest(const Args& a) {
  if (a.state.empty()) Die("ingest needs --state DIR");
  auto cred = steward::ctl::LoadAdminCredential(a.admin_config);
  if (!cred.ok()) Die(std::string(cred.status().message()));
  auto admin = steward::ctl::MakeAdminStub(*cred);
  v1::CreateEnrollmentTokenRequest treq;
  treq.set_max_uses(static_cast<uint32_t>(a.clients));
  v1::CreateEnrollmentTokenResponse tresp;
  grpc::Status st = WithDeadline([&](grpc::ClientContext* c) { return admin->CreateEnrollmentToken(c, treq, &tresp); });
  if (!st.ok()) Die("token: " + st.error_message());
  std::vector<steward::agent::AgentIdentity> ids;
  for (int c = 0; c < a.clients; ++c) {
    v1::HostFacts facts;
    facts.set_hostname("tsdb-bench-" + std::to_string(c));
    auto id = steward::agent::EnrollAgent(cred->collector, cred->ca_pem, tresp.token(),
                                          a.state + "/agent-" + std::to_string(c), facts, absl::Seconds(30));
    if (!id.ok()) Die("enroll: " + std::string(id.status().message()));
    ids.push_back(*id);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int c = 0; c < a.clients; ++c) {
    threads.emplace_back([&, c] {
      if (!RunClient(c, a, ids[static_cast<size_t>(c)], cred->collector, cred->ca_pem)) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed > 0) Die("some clients failed");
  const double samples = static_cast<double>(a.data.hosts) * a.data.steps * 20;
  std::printf("RESULT steward_ingest samples=%.0f seconds=%.3f samples_per_s=%.0f\n", samples, secs, samples / secs);
  return 0;
}

// ---------------------------------------------------------------- queries

v1::QueryMetricsRequest Q(const std::string& metric, int64_t start, int64_t end) {
  v1::QueryMetricsRequest r;
  r.set_metric(metric);
  r.set_start_ms(start);
  r.set_end_ms(end);
  return r;
}

void Match(v1::QueryMetricsRequest* r, const std::string& name, v1::LabelMatcher::Op op, const std::string& value) {
  v1::LabelMatcher* m = r->add_matchers();
  m->set_name(name);
  m->set_op(op);
  m->set_value(value);
}

int Query(const Args& a) {
  if (a.end_ms <= a.data.start_ms) Die("query needs --start-ms T0 --end-ms T1 with T1 > T0");
  // This client's own allocator must not decide a query's time: glibc gave
  // the heap a large answer (lastpoint's 10,000 series) had used back to the
  // kernel after a small query, and the next large answer paid ~4,000 page
  // faults (lastpoint after groupby-orderby-limit: 92,000 faults in 21 runs
  // against 7,500 run alone, 2.7x the client CPU). Keep freed memory.
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  auto cred = steward::ctl::LoadAdminCredential(a.admin_config);
  if (!cred.ok()) Die(std::string(cred.status().message()));
  auto admin = steward::ctl::MakeAdminStub(*cred);
  std::mt19937_64 rng(a.query_seed);
  const int64_t t0 = a.data.start_ms, t1 = a.end_ms;
  auto window = [&](int64_t len) -> std::pair<int64_t, int64_t> {
    if (t1 - t0 <= len) return {t0, t1 - 1};
    int64_t s = t0 + static_cast<int64_t>(rng() % static_cast<uint64_t>(t1 - len - t0));
    return {s, s + len - 1};
  };
  auto host = [&]() { return "host_" + std::to_string(rng() % static_cast<uint64_t>(a.data.hosts)); };
  // One QueryMetrics call per TSBS query; those over several metrics name
  // them with a `__name__` matcher, as the MetricsQL in tsdb_queries.py does.
  auto queries = [&]() {
    std::vector<std::pair<std::string, std::vector<v1::QueryMetricsRequest>>> out;
    auto [a1, b1] = window(kHourMs);
    std::string h = host();
    auto q = Q("cpu_usage_user", a1, b1);
    Match(&q, "hostname", v1::LabelMatcher::EQ, h);
    q.set_agg("max");
    q.set_step_ms(300000);
    out.push_back({"single-groupby-1-1-1", {q}});
    std::string eight = h;
    for (int i = 1; i < 8; ++i) eight += "|" + host();
    q = Q("cpu_usage_user", a1, b1);
    Match(&q, "hostname", v1::LabelMatcher::RE, eight);
    q.set_agg("max");
    q.set_step_ms(300000);
    out.push_back({"single-groupby-1-8-1", {q}});
    auto [a12, b12] = window(12 * kHourMs);
    std::string five;  // cpu_(usage_user|usage_system|...), the first 5 fields
    for (size_t i = 0; i < 5; ++i) five += std::string(i == 0 ? "" : "|") + kCpuFields[i];
    q = Q("", a12, b12);
    Match(&q, "__name__", v1::LabelMatcher::RE, "cpu_(" + five + ")");
    Match(&q, "hostname", v1::LabelMatcher::EQ, h);
    q.set_agg("max");
    q.set_step_ms(300000);
    q.add_group_by("__name__");
    out.push_back({"single-groupby-5-1-12", {q}});
    auto [a24, b24] = window(24 * kHourMs);
    q = Q("cpu_usage_user", a24, b24);
    q.set_agg("avg");
    q.set_step_ms(kHourMs);
    q.add_group_by("hostname");
    out.push_back({"double-groupby-1", {q}});
    q = Q("cpu_usage_user", a12, b12);
    Match(&q, "hostname", v1::LabelMatcher::EQ, h);
    q.set_value_filter("> 90");
    out.push_back({"high-cpu-1", {q}});
    q = Q("", t1 - kHourMs, t1);
    Match(&q, "__name__", v1::LabelMatcher::RE, "cpu_.*");
    q.set_last_point(true);
    out.push_back({"lastpoint", {q}});
    int64_t end = t0 + 300000 + static_cast<int64_t>(rng() % static_cast<uint64_t>(t1 - t0 - 300000 + 1));
    q = Q("cpu_usage_user", end - 300000, end);
    q.set_agg("max");
    q.set_step_ms(60000);
    out.push_back({"groupby-orderby-limit", {q}});
    return out;
  };
  std::map<std::string, std::vector<double>> times;
  std::vector<std::string> order;
  std::string raw;  // --times-to lines, written once at the end (no file I/O between calls)
  for (int run = 0; run <= a.runs; ++run) {  // run 0 warms up
    for (auto& [name, reqs] : queries()) {
      if (!a.only.empty() && absl::StrCat(",", a.only, ",").find(absl::StrCat(",", name, ",")) ==
                                 std::string::npos) {
        continue;
      }
      if (a.pause_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(a.pause_us));
      auto t = std::chrono::steady_clock::now();
      size_t points = 0;
      for (const auto& req : reqs) {
        v1::QueryMetricsResponse resp;
        grpc::Status st = WithDeadline([&](grpc::ClientContext* c) { return admin->QueryMetrics(c, req, &resp); }, 120);
        if (!st.ok()) Die(name + ": " + st.error_message());
        for (const auto& s : resp.series()) points += static_cast<size_t>(s.points_size());
      }
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
      if (points == 0 && name != "high-cpu-1") Die(name + ": empty result");
      if (run == 0) order.push_back(name);
      if (run > 0) times[name].push_back(ms);
      if (run > 0 && !a.times_to.empty()) raw += absl::StrCat(name, " ", ms, "\n");
    }
  }
  if (!a.times_to.empty()) {
    std::FILE* f = std::fopen(a.times_to.c_str(), "a");
    if (f == nullptr || std::fputs(raw.c_str(), f) < 0 || std::fclose(f) != 0) Die("cannot append to " + a.times_to);
  }
  std::string line;
  for (const auto& name : order) {
    auto& v = times[name];
    std::sort(v.begin(), v.end());
    auto rank = [&](double p) {
      size_t i = static_cast<size_t>(std::max(0.0, std::min(static_cast<double>(v.size() - 1),
                                                              std::ceil(p / 100 * v.size()) - 1)));
      return v[i];
    };
    char buf[160];
    std::snprintf(buf, sizeof buf, "%sq_%s_p50_ms=%.2f q_%s_p99_ms=%.2f", line.empty() ? "" : " ", name.c_str(),
                  rank(50), name.c_str(), rank(99));
    line += buf;
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = ParseArgs(argc, argv);
  if (a.mode == "ingest") return Ingest(a);
  if (a.mode == "query") return Query(a);
  Die("mode must be ingest or query");
}
