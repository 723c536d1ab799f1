// steward-fleetsim: N simulated agents in one process, for the fleet
// benchmark (tests/bench/run fleet, docs/benchmarks.md) and fault tests.
//
// Each simulated agent is a real client of the collector: its own key and
// certificate (enrolled with a token, kept in STATE/agent-NNNNN like the
// agent's state directory), its own mutual-TLS connection and Connect
// stream (gRPC callback API: the process needs a handful of threads, not
// one per agent). It sends what the agent sends: Hello, a full inventory
// snapshot (~1,500 packages, "openssl" among them), a metric batch of ~70
// series every interval (columns form), inventory deltas when a package is
// upgraded, health reports on request and job results for the jobs it gets
// (succeeding, or failing for --fail-jobs of them). Unacked envelopes stay
// in memory and are sent again after a reconnect, which follows the
// agent's backoff with jitter.
//
// Connections are spread over source addresses (--sources, default
// 127.0.0.2-127.0.0.254): the collector limits enrollments and connections
// per source address, as it should for a real fleet where every host has
// its own. This process's connect() binds each TCP socket to the next
// address of that range before connecting (see SpreadConnect below).
//
// Every --stats-every it prints one line on stdout:
//   FLEETSIM t=… agents=… enrolled=… connected=… delivering=… snapshots=…
//   batches_sent=… batches_acked=… samples_acked=… ack_p50_ms=… ack_p99_ms=…
//   reconnects=… refused_busy=… jobs_done=… cpu_s=… rss_kb=…
// With --ledger FILE it writes, at exit, per agent: its metric batch times,
// its upgrades (NAME=VERSION) and its job results (JOB_ID=STATUS), each as
// created and as applied by the collector (fault tests compare them with
// what the collector returns).
// (delivering: agents whose current session had an envelope acked;
// snapshots: agents whose first snapshot was acked; ack_*: batch created to
// ack received, over the interval since the last line).

#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/session/backoff.h"
#include "agent/session/identity.h"
#include "common/file_util.h"
#include "common/inventory/inventory_diff.h"
#include "common/metrics/series_columns.h"
#include "grpcpp/grpcpp.h"
#include "steward/v1/agent.grpc.pb.h"

// ---------------------------------------------------------------------------
// Source addresses. gRPC offers no per-channel source address, so this
// process's own connect() (which libgrpc's calls resolve to) binds IPv4 TCP
// sockets headed for 127.0.0.0/8 to the next address of the range first.
namespace {
std::atomic<uint32_t> g_source_first{0};  // host order; 0: off
std::atomic<uint32_t> g_source_count{0};
std::atomic<uint32_t> g_source_next{0};
}  // namespace

namespace {
// The IPv4 address a connection to `addr` is headed for, in host order (an
// IPv4-mapped IPv6 address counts: gRPC's sockets are dual-stack), or 0.
uint32_t LoopbackV4Destination(const struct sockaddr* addr, socklen_t len) {
  if (addr == nullptr) return 0;
  uint32_t v4 = 0;
  if (addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    v4 = ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr);
  } else if (addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return 0;
    std::memcpy(&v4, &in6->sin6_addr.s6_addr[12], 4);
    v4 = ntohl(v4);
  }
  return (v4 >> 24) == 127 ? v4 : 0;
}
}  // namespace

extern "C" int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  uint32_t count = g_source_count.load(std::memory_order_relaxed);
  int type = 0;
  socklen_t tlen = sizeof type;
  if (count > 0 && LoopbackV4Destination(addr, len) != 0 &&
      ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM) {
    uint32_t i = g_source_next.fetch_add(1, std::memory_order_relaxed) % count;
    uint32_t source = htonl(g_source_first.load(std::memory_order_relaxed) + i);
    int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (addr->sa_family == AF_INET) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr.s_addr = source;
      ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local);  // best effort
    } else {
      sockaddr_in6 local{};
      local.sin6_family = AF_INET6;
      local.sin6_addr.s6_addr[10] = 0xff;
      local.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&local.sin6_addr.s6_addr[12], &source, 4);
      ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local);
    }
  }
  return static_cast<int>(::syscall(SYS_connect, fd, addr, len));
}

namespace steward::fleetsim {
namespace {

struct Options {
  std::string collector;
  std::string ca_file;
  std::string tokens_file;  // one token per line; agent i uses line i % lines
  std::string state_dir;
  int agents = 100;
  int first = 0;  // index of the first agent (names sim-NNNNN)
  absl::Duration interval = absl::Seconds(10);
  int packages = 1500;
  double upgrades_per_hour = 0.5;  // per agent
  double fail_jobs = 0;            // fraction of jobs answered JOB_FAILED
  absl::Duration duration = absl::ZeroDuration();  // 0: until SIGINT/SIGTERM
  absl::Duration stats_every = absl::Seconds(5);
  int enroll_parallel = 16;
  // Source addresses (--sources), host order: 127.0.0.2-127.0.0.254.
  uint32_t source_first = 0x7f000002;
  uint32_t source_count = 253;
  // When set, written at exit: per agent, the creation times of its metric
  // batches and of those the collector applied (acked, or reported applied
  // in a Welcome), for fault tests to compare with what the collector holds.
  std::string ledger;
  // Publisher key ids the agents say they trust in their Hello
  // (--trusted-key-id), so signed rollouts can target them.
  std::vector<std::string> trusted_key_ids;
};

std::atomic<bool> g_stop{false};
std::atomic<int> g_live_sessions{0};
void OnSignal(int) { g_stop = true; }

// Batch-to-ack latencies since the last stats line, in 1 ms buckets up to
// 10 s, then one overflow bucket.
class LatencyHistogram {
 public:
  void Add(double ms) {
    int b = std::clamp(static_cast<int>(ms), 0, kBuckets - 1);
    counts_[b].fetch_add(1, std::memory_order_relaxed);
  }
  // p50 and p99 in ms (bucket upper bounds) of what was added since the last call.
  std::pair<double, double> TakePercentiles() {
    std::vector<uint64_t> c(kBuckets);
    uint64_t total = 0;
    for (int i = 0; i < kBuckets; ++i) total += c[i] = counts_[i].exchange(0);
    if (total == 0) return {0, 0};
    auto at = [&](double q) {
      uint64_t want = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
      uint64_t seen = 0;
      for (int i = 0; i < kBuckets; ++i) {
        seen += c[i];
        if (seen >= want) return static_cast<double>(i + 1);
      }
      return static_cast<double>(kBuckets);
    };
    return {at(0.50), at(0.99)};
  }

 private:
  static constexpr int kBuckets = 10001;
  std::atomic<uint64_t> counts_[kBuckets] = {};
};

struct Stats {
  std::atomic<int> enrolled{0};
  std::atomic<int> connected{0};
  std::atomic<int> delivering{0};
  std::atomic<int> snapshots{0};
  std::atomic<uint64_t> batches_sent{0};
  std::atomic<uint64_t> batches_acked{0};
  std::atomic<uint64_t> samples_acked{0};
  std::atomic<uint64_t> reconnects{0};
  // Sessions the collector ended with RESOURCE_EXHAUSTED (disk nearly
  // full, connection limits).
  std::atomic<uint64_t> refused_busy{0};
  std::atomic<uint64_t> jobs_done{0};
  std::atomic<uint64_t> enroll_errors{0};
  LatencyHistogram ack_latency;
};

constexpr int kSeriesPerBatch = 70;

class SimAgent;

// A scheduler of delayed calls (reconnects) on one thread.
class Timer {
 public:
  Timer() : thread_([this] { Loop(); }) {}
  ~Timer() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void At(absl::Time when, std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> l(mu_);
      q_.push(Item{when, seq_++, std::move(fn)});
    }
    cv_.notify_all();
  }

 private:
  struct Item {
    absl::Time when;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Item& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (q_.empty()) {
        cv_.wait(l);
        continue;
      }
      absl::Time now = absl::Now();
      if (q_.top().when > now) {
        cv_.wait_for(l, absl::ToChronoNanoseconds(q_.top().when - now));
        continue;
      }
      std::function<void()> fn = q_.top().fn;
      q_.pop();
      l.unlock();
      fn();
      l.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> q_;
  uint64_t seq_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// One Connect stream. Deletes itself in OnDone after telling its agent.
class Session final : public grpc::ClientBidiReactor<v1::AgentMessage, v1::CollectorMessage> {
 public:
  Session(SimAgent* agent, v1::AgentService::Stub* stub);
  void Start(const v1::AgentMessage& hello);
  // Queues a message; false when the stream has ended.
  bool Send(v1::AgentMessage msg);
  void Finish();  // ends the stream from this side (shutdown)

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void WriteNextLocked();
  SimAgent* agent_;
  grpc::ClientContext ctx_;
  v1::CollectorMessage in_;
  std::mutex mu_;
  std::deque<v1::AgentMessage> queue_;
  v1::AgentMessage writing_;
  bool write_pending_ = false;
  bool ended_ = false;
};

class SimAgent {
 public:
  SimAgent(int index, const Options& opt, Stats* stats, Timer* timer)
      : index_(index),
        opt_(opt),
        stats_(stats),
        timer_(timer),
        rng_(static_cast<uint32_t>(index) * 7919u + 1),
        backoff_(absl::Seconds(1), absl::Minutes(5), static_cast<uint64_t>(index) * 104729u + 17) {
    hostname_ = absl::StrFormat("sim-%05d", index);
    state_dir_ = absl::StrCat(opt.state_dir, "/agent-", absl::StrFormat("%05d", index));
    BuildInventory();
  }

  const std::string& hostname() const { return hostname_; }
  const std::string& state_dir() const { return state_dir_; }

  absl::Status EnsureIdentity(const std::string& ca_pem, const std::string& token) {
    auto id = agent::LoadIdentity(state_dir_);
    if (!id.ok()) {
      if (!absl::IsNotFound(id.status())) return id.status();
      id = agent::EnrollAgent(opt_.collector, ca_pem, token, state_dir_, Facts(), absl::Seconds(60));
      if (!id.ok()) return id.status();
    }
    identity_ = *id;
    stub_ = v1::AgentService::NewStub(agent::MakeCollectorChannel(opt_.collector, ca_pem, &identity_));
    std::lock_guard<std::mutex> l(mu_);
    has_identity_ = true;
    return absl::OkStatus();
  }

  void Connect() {
    if (g_stop) return;
    std::lock_guard<std::mutex> l(mu_);
    if (session_ != nullptr) return;
    session_ = new Session(this, stub_.get());
    v1::AgentMessage hello;
    auto* h = hello.mutable_hello();
    h->set_agent_version("0.1.0-sim");
    h->add_capabilities("inventory.snapshot");
    h->add_capabilities("metrics.v1");
    h->set_last_acked_seq(last_acked_);
    if (snapshot_acked_) h->set_inventory_digest(digest_);
    for (const std::string& id : opt_.trusted_key_ids) h->mutable_trusted_keys()->add_key_ids(id);
    h->mutable_trusted_keys();
    h->set_health_report_interval_ms(absl::ToInt64Milliseconds(opt_.interval) * 6);
    session_->Start(hello);
  }

  // From the session's reader.
  void OnMessage(Session* s, const v1::CollectorMessage& m) {
    std::lock_guard<std::mutex> l(mu_);
    if (s != session_) return;
    absl::Time now = absl::Now();
    switch (m.kind_case()) {
      case v1::CollectorMessage::kWelcome: {
        welcomed_ = true;
        backoff_.Reset();
        stats_->connected.fetch_add(1);
        uint64_t applied = m.welcome().last_applied_seq();
        if (applied > next_seq_ - 1) next_seq_ = applied + 1;  // the collector is ahead (state lost here)
        DropAckedLocked(applied, now, /*count=*/false);
        for (auto& [seq, p] : unacked_) session_->Send(WrapLocked(p.env));  // what the last session lost
        if (!snapshot_acked_ && !SnapshotQueuedLocked()) QueueLocked(SnapshotEnvelope(now));
        break;
      }
      case v1::CollectorMessage::kAck: {
        DropAckedLocked(m.ack().seq(), now, /*count=*/true);
        if (!delivering_) {
          delivering_ = true;
          stats_->delivering.fetch_add(1);
        }
        break;
      }
      case v1::CollectorMessage::kResync:
        QueueLocked(SnapshotEnvelope(now));
        break;
      case v1::CollectorMessage::kHealthRequest: {
        v1::Envelope env;
        env.mutable_health_report();
        QueueLocked(std::move(env));
        break;
      }
      case v1::CollectorMessage::kJob: {
        const v1::JobSpec& job = m.job();
        if (!jobs_done_.insert(job.job_id()).second) break;  // a repeat: the result is queued already
        v1::Envelope env;
        auto* r = env.mutable_job_result();
        r->set_job_id(job.job_id());
        bool fail = std::uniform_real_distribution<double>(0, 1)(rng_) < opt_.fail_jobs;
        r->set_status(fail ? v1::JOB_FAILED : v1::JOB_SUCCEEDED);
        r->set_exit_code(fail ? 1 : 0);
        r->set_message(fail ? "simulated failure (steward-fleetsim --fail-jobs)" : "");
        r->set_started_ms(absl::ToUnixMillis(now));
        r->set_finished_ms(absl::ToUnixMillis(now));
        QueueLocked(std::move(env));
        stats_->jobs_done.fetch_add(1);
        break;
      }
      case v1::CollectorMessage::kCancelJob: {
        if (!jobs_done_.insert(m.cancel_job().job_id()).second) break;
        v1::Envelope env;
        auto* r = env.mutable_job_result();
        r->set_job_id(m.cancel_job().job_id());
        r->set_status(v1::JOB_SKIPPED);
        r->set_cancelled(true);
        r->set_exit_code(-1);
        r->set_message("cancelled");
        QueueLocked(std::move(env));
        break;
      }
      default:
        break;  // settings, renewed certificates: nothing to do here
    }
  }

  // From the session's OnDone.
  void OnSessionDone(Session* s, const grpc::Status& status) {
    std::lock_guard<std::mutex> l(mu_);
    if (s != session_) return;
    session_ = nullptr;
    if (welcomed_) stats_->connected.fetch_sub(1);
    if (delivering_) stats_->delivering.fetch_sub(1);
    welcomed_ = delivering_ = false;
    if (g_stop) return;
    stats_->reconnects.fetch_add(1);
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      last_error_ = status.error_message();
    }
    const bool busy = status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    if (busy) stats_->refused_busy.fetch_add(1);
    absl::Duration wait = busy ? backoff_.NextWithin(agent::kBusyCollectorRetryCap) : backoff_.Next();
    timer_->At(absl::Now() + wait, [this] { Connect(); });
  }

  // Every interval: a metric batch, sometimes an upgrade. An agent starts
  // collecting once it has an identity, as the agent does.
  void Tick(absl::Time now) {
    std::lock_guard<std::mutex> l(mu_);
    if (!has_identity_) return;
    QueueLocked(MetricEnvelope(now));
    double p = opt_.upgrades_per_hour * absl::ToDoubleHours(opt_.interval);
    if (snapshot_acked_ && std::uniform_real_distribution<double>(0, 1)(rng_) < p) QueueLocked(UpgradeEnvelope(now));
  }

  void Stop() {
    std::lock_guard<std::mutex> l(mu_);
    if (session_ != nullptr) session_->Finish();
  }

  // "HOSTNAME created T..." and "HOSTNAME delivered T..." (metric batches,
  // Unix ms), "HOSTNAME upgrades_created|upgrades_applied NAME=VERSION..."
  // and "HOSTNAME jobs_created|jobs_applied JOB_ID=STATUS...".
  void WriteLedger(std::FILE* out) {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [what, times] : {std::pair{"created", &created_ms_}, std::pair{"delivered", &delivered_ms_}}) {
      std::fprintf(out, "%s %s", hostname_.c_str(), what);
      for (int64_t t : *times) std::fprintf(out, " %lld", static_cast<long long>(t));
      std::fputc('\n', out);
    }
    for (const auto& [what, words] :
         {std::pair{"upgrades_created", &upgrades_created_}, std::pair{"upgrades_applied", &upgrades_applied_},
          std::pair{"jobs_created", &jobs_created_}, std::pair{"jobs_applied", &jobs_applied_}}) {
      std::fprintf(out, "%s %s", hostname_.c_str(), what);
      for (const std::string& w : *words) std::fprintf(out, " %s", w.c_str());
      std::fputc('\n', out);
    }
  }

 private:
  struct Pending {
    v1::Envelope env;
    absl::Time created;
    bool is_batch = false;
    bool is_snapshot = false;
  };

  v1::HostFacts Facts() const {
    v1::HostFacts f;
    f.set_hostname(hostname_);
    f.set_os_id("debian");
    f.set_os_name("Debian GNU/Linux 12 (bookworm)");
    f.set_os_version("12");
    f.set_kernel("6.1.0-sim-amd64");
    f.set_arch("x86_64");
    f.set_cpu_model("Simulated CPU");
    f.set_cpu_count(4);
    f.set_memory_total_bytes(8ull << 30);
    f.set_boot_time_unix(1700000000);
    return f;
  }

  // The inventory is made on demand from the agent's index and its
  // upgrades (an item costs nothing between snapshots: 10,000 agents of
  // 1,500 parsed items each would need gigabytes here).
  v1::SoftwareItem Item(int i) const {
    static const char* kReal[] = {"openssl", "libssl3", "openssh-server", "nginx", "postgresql-15", "curl",
                                  "bash", "coreutils", "systemd", "python3", "libc6", "zlib1g"};
    v1::SoftwareItem it;
    it.set_source("dpkg");
    if (i < static_cast<int>(std::size(kReal))) {
      it.set_name(kReal[i]);
    } else {
      it.set_name(absl::StrFormat("simpkg-%04d", i));
    }
    // A few versions across the fleet, as in a real one.
    std::string version = absl::StrFormat("%d.%d.%d-1", 1 + i % 3, (index_ + i) % 4, i % 10);
    if (auto b = bumps_.find(i); b != bumps_.end()) absl::StrAppend(&version, "+sim", b->second);
    it.set_version(version);
    it.set_arch(i % 5 == 0 ? "all" : "amd64");
    it.set_vendor("Simulated Maintainers <sim@example.invalid>");
    it.set_size_bytes(1024ull * (16 + i % 4000));
    it.set_status("install ok installed");
    it.set_install_time_unix(1700000000 + i);
    return it;
  }

  std::vector<v1::SoftwareItem> Items() const {
    std::vector<v1::SoftwareItem> items;
    items.reserve(opt_.packages);
    for (int i = 0; i < opt_.packages; ++i) items.push_back(Item(i));
    return items;
  }

  void BuildInventory() { digest_ = InventoryDigest(Items()); }

  v1::Envelope SnapshotEnvelope(absl::Time now) {
    v1::Envelope env;
    auto* s = env.mutable_inventory_snapshot();
    *s->mutable_facts() = Facts();
    for (auto& it : Items()) *s->add_items() = std::move(it);
    s->set_digest(digest_);
    env.set_created_ms(absl::ToUnixMillis(now));
    return env;
  }

  v1::Envelope UpgradeEnvelope(absl::Time now) {
    int i = std::uniform_int_distribution<int>(0, opt_.packages - 1)(rng_);
    std::string base = digest_;
    bumps_[i] = ++upgrades_;
    digest_ = InventoryDigest(Items());
    v1::Envelope env;
    auto* d = env.mutable_inventory_delta();
    d->set_base_digest(base);
    d->set_digest(digest_);
    *d->add_changed() = Item(i);
    env.set_created_ms(absl::ToUnixMillis(now));
    return env;
  }

  v1::Envelope MetricEnvelope(absl::Time now) {
    v1::Envelope env;
    metrics::SeriesColumnsBuilder b(env.mutable_metric_batch()->mutable_columns());
    const int64_t t = absl::ToUnixMillis(now);
    const double uptime = absl::ToDoubleSeconds(now - absl::FromUnixSeconds(1700000000));
    std::uniform_real_distribution<double> noise(0, 1);
    uint32_t host = b.Symbol("host"), host_v = b.Symbol(hostname_);
    uint32_t cpu = b.Symbol("cpu"), mode = b.Symbol("mode"), dev = b.Symbol("device");
    uint32_t cpu_total = b.Symbol("steward_cpu_seconds_total");
    static const char* kModes[] = {"user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"};
    for (int c = 0; c < 4; ++c) {  // 32 counters
      uint32_t cv = b.Symbol(absl::StrCat(c));
      for (int m = 0; m < 8; ++m) {
        std::pair<uint32_t, uint32_t> labels[] = {{cpu, cv}, {host, host_v}, {mode, b.Symbol(kModes[m])}};
        b.AddSeries(cpu_total, labels, /*counter=*/true);
        b.AddPoint(t, std::floor(uptime * (m == 2 ? 0.8 : 0.02) + noise(rng_) * 3));
      }
    }
    static const char* kGauges[] = {"steward_memory_total_bytes", "steward_memory_available_bytes",
                                    "steward_memory_cached_bytes", "steward_swap_used_bytes",
                                    "steward_load1", "steward_load5", "steward_load15", "steward_procs_running",
                                    "steward_procs_total", "steward_uptime_seconds"};
    for (const char* g : kGauges) {  // 10 gauges
      std::pair<uint32_t, uint32_t> labels[] = {{host, host_v}};
      b.AddSeries(b.Symbol(g), labels, false);
      b.AddPoint(t, std::round(noise(rng_) * 1e6) / 100);
    }
    static const char* kDev[] = {"sda", "sdb", "eth0", "eth1"};
    static const char* kDevMetrics[] = {"steward_io_read_bytes_total", "steward_io_written_bytes_total",
                                        "steward_io_ops_total", "steward_io_errors_total",
                                        "steward_fs_free_bytes", "steward_fs_size_bytes",
                                        "steward_io_time_seconds_total"};
    for (const char* d : kDev) {  // 28 device series
      std::pair<uint32_t, uint32_t> labels[] = {{dev, b.Symbol(d)}, {host, host_v}};
      for (const char* m : kDevMetrics) {
        bool counter = absl::EndsWith(m, "_total");
        b.AddSeries(b.Symbol(m), labels, counter);
        b.AddPoint(t, counter ? std::floor(uptime * 100 + noise(rng_) * 10) : std::round(noise(rng_) * 1e9));
      }
    }
    env.set_created_ms(t);
    return env;
  }

  bool SnapshotQueuedLocked() const {
    for (const auto& [seq, p] : unacked_) {
      if (p.is_snapshot) return true;
    }
    return false;
  }

  void QueueLocked(v1::Envelope env) {
    const uint64_t seq = next_seq_++;
    env.set_seq(seq);
    Pending p;
    p.is_batch = env.has_metric_batch();
    p.is_snapshot = env.has_inventory_snapshot();
    p.created = absl::FromUnixMillis(env.created_ms() != 0 ? env.created_ms() : absl::ToUnixMillis(absl::Now()));
    p.env = std::move(env);
    if (p.is_batch) stats_->batches_sent.fetch_add(1);
    if (!opt_.ledger.empty()) {
      if (p.is_batch) created_ms_.push_back(absl::ToUnixMillis(p.created));
      if (std::string w = LedgerWord(p.env); !w.empty()) {
        (p.env.has_job_result() ? jobs_created_ : upgrades_created_).push_back(std::move(w));
      }
    }
    // Bounded like the agent's outbox: the oldest metric batches go first.
    if (unacked_.size() >= 2000) {
      for (auto it = unacked_.begin(); it != unacked_.end(); ++it) {
        if (it->second.is_batch) {
          unacked_.erase(it);
          break;
        }
      }
    }
    auto [it, inserted] = unacked_.emplace(seq, std::move(p));
    if (session_ != nullptr && welcomed_) session_->Send(WrapLocked(it->second.env));
  }

  // NAME=VERSION of an upgrade, JOB_ID=STATUS of a job result, else "".
  static std::string LedgerWord(const v1::Envelope& env) {
    if (env.has_inventory_delta() && env.inventory_delta().changed_size() == 1) {
      const auto& item = env.inventory_delta().changed(0);
      return absl::StrCat(item.name(), "=", item.version());
    }
    if (env.has_job_result()) {
      return absl::StrCat(env.job_result().job_id(), "=", v1::JobStatus_Name(env.job_result().status()));
    }
    return "";
  }

  static v1::AgentMessage WrapLocked(const v1::Envelope& env) {
    v1::AgentMessage msg;
    *msg.mutable_envelope() = env;
    return msg;
  }

  void DropAckedLocked(uint64_t seq, absl::Time now, bool count) {
    if (seq > last_acked_) last_acked_ = seq;
    while (!unacked_.empty() && unacked_.begin()->first <= seq) {
      Pending& p = unacked_.begin()->second;
      if (!opt_.ledger.empty()) {
        if (p.is_batch) delivered_ms_.push_back(absl::ToUnixMillis(p.created));
        if (std::string w = LedgerWord(p.env); !w.empty()) {
          (p.env.has_job_result() ? jobs_applied_ : upgrades_applied_).push_back(std::move(w));
        }
      }
      if (count && p.is_batch) {
        stats_->batches_acked.fetch_add(1);
        stats_->samples_acked.fetch_add(kSeriesPerBatch);
        stats_->ack_latency.Add(absl::ToDoubleMilliseconds(now - p.created));
      }
      if (p.is_snapshot && !snapshot_acked_) {
        snapshot_acked_ = true;
        stats_->snapshots.fetch_add(1);
      }
      unacked_.erase(unacked_.begin());
    }
  }

  const int index_;
  const Options& opt_;
  Stats* stats_;
  Timer* timer_;
  std::string hostname_;
  std::string state_dir_;
  agent::AgentIdentity identity_;
  std::unique_ptr<v1::AgentService::Stub> stub_;

  std::mutex mu_;
  std::mt19937 rng_;
  agent::Backoff backoff_;
  Session* session_ = nullptr;
  bool has_identity_ = false;
  bool welcomed_ = false;
  bool delivering_ = false;
  uint64_t next_seq_ = 1;
  uint64_t last_acked_ = 0;
  std::map<uint64_t, Pending> unacked_;
  std::map<int, int> bumps_;  // item index -> upgrade number
  std::string digest_;
  bool snapshot_acked_ = false;
  int upgrades_ = 0;
  std::set<std::string> jobs_done_;
  std::vector<int64_t> created_ms_, delivered_ms_;  // --ledger only
  std::vector<std::string> upgrades_created_, upgrades_applied_, jobs_created_, jobs_applied_;
  std::string last_error_;
};

Session::Session(SimAgent* agent, v1::AgentService::Stub* stub) : agent_(agent) {
  g_live_sessions.fetch_add(1);
  stub->async()->Connect(&ctx_, this);
}

void Session::Start(const v1::AgentMessage& hello) {
  AddHold();  // writes come from other threads: keep the call until the reader ends
  Send(hello);
  StartRead(&in_);
  StartCall();
}

bool Session::Send(v1::AgentMessage msg) {
  std::lock_guard<std::mutex> l(mu_);
  if (ended_) return false;
  queue_.push_back(std::move(msg));
  if (!write_pending_) WriteNextLocked();
  return true;
}

void Session::WriteNextLocked() {
  if (queue_.empty()) return;
  writing_ = std::move(queue_.front());
  queue_.pop_front();
  write_pending_ = true;
  StartWrite(&writing_);
}

void Session::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> l(mu_);
  write_pending_ = false;
  if (!ok) {
    queue_.clear();
    return;
  }
  if (!ended_) WriteNextLocked();
}

void Session::OnReadDone(bool ok) {
  if (!ok) {
    {
      std::lock_guard<std::mutex> l(mu_);
      ended_ = true;
      queue_.clear();
    }
    RemoveHold();
    return;
  }
  agent_->OnMessage(this, in_);
  StartRead(&in_);
}

void Session::Finish() { ctx_.TryCancel(); }

void Session::OnDone(const grpc::Status& status) {
  agent_->OnSessionDone(this, status);
  delete this;
  g_live_sessions.fetch_sub(1);
}

std::vector<std::string> ReadTokens(const std::string& path) {
  std::vector<std::string> tokens;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view t = absl::StripAsciiWhitespace(line);
    if (!t.empty() && t[0] != '#') tokens.emplace_back(t);
  }
  return tokens;
}

bool ParseSources(const std::string& spec, uint32_t* first, uint32_t* count) {
  if (spec == "off") {
    *count = 0;
    return true;
  }
  std::vector<std::string> ends = absl::StrSplit(spec, '-');
  if (ends.size() != 2) return false;
  auto parse = [](const std::string& s, uint32_t* out) {
    std::vector<std::string> p = absl::StrSplit(s, '.');
    if (p.size() != 4) return false;
    uint32_t v = 0;
    for (const auto& o : p) {
      uint32_t b = 0;
      if (!absl::SimpleAtoi(o, &b) || b > 255) return false;
      v = v << 8 | b;
    }
    *out = v;
    return true;
  };
  uint32_t a = 0, b = 0;
  if (!parse(ends[0], &a) || !parse(ends[1], &b) || b < a || (a >> 24) != 127 || (b >> 24) != 127) return false;
  *first = a;
  *count = b - a + 1;
  return true;
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      long kb = 0;
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() >= 2 && absl::SimpleAtoi(f[1], &kb)) return kb;
    }
  }
  return 0;
}

double CpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void PrintStats(Stats& s, absl::Time start, int agents) {
  auto [p50, p99] = s.ack_latency.TakePercentiles();
  std::printf(
      "FLEETSIM t=%.1f agents=%d enrolled=%d connected=%d delivering=%d snapshots=%d batches_sent=%llu "
      "batches_acked=%llu samples_acked=%llu ack_p50_ms=%.0f ack_p99_ms=%.0f reconnects=%llu refused_busy=%llu "
      "jobs_done=%llu enroll_errors=%llu cpu_s=%.2f rss_kb=%ld\n",
      absl::ToDoubleSeconds(absl::Now() - start), agents, s.enrolled.load(), s.connected.load(),
      s.delivering.load(), s.snapshots.load(), static_cast<unsigned long long>(s.batches_sent.load()),
      static_cast<unsigned long long>(s.batches_acked.load()),
      static_cast<unsigned long long>(s.samples_acked.load()), p50, p99,
      static_cast<unsigned long long>(s.reconnects.load()), static_cast<unsigned long long>(s.refused_busy.load()),
      static_cast<unsigned long long>(s.jobs_done.load()),
      static_cast<unsigned long long>(s.enroll_errors.load()), CpuSeconds(), RssKb());
  std::fflush(stdout);
}

constexpr char kUsage[] =
    "usage: steward-fleetsim --collector HOST:PORT --ca-file CA.pem --tokens FILE --state-dir DIR\n"
    "                        [--agents N] [--first I] [--interval 10s] [--packages 1500]\n"
    "                        [--upgrades-per-hour 0.5] [--fail-jobs 0.0] [--duration 0s]\n"
    "                        [--stats-every 5s] [--enroll-parallel 16]\n"
    "                        [--sources 127.0.0.2-127.0.0.254|off] [--ledger FILE]\n"
    "                        [--trusted-key-id ID]...\n";

int Main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (a == name && i + 1 < argc) return std::string(argv[++i]);
      std::string eq = absl::StrCat(name, "=");
      if (absl::StartsWith(a, eq)) return a.substr(eq.size());
      return std::nullopt;
    };
    auto bad = [&](const std::string& what) {
      std::fprintf(stderr, "steward-fleetsim: error: %s\n%s", what.c_str(), kUsage);
      return 2;
    };
    auto dur = [&](const std::string& v, absl::Duration* out) {
      return absl::ParseDuration(v, out) && *out >= absl::ZeroDuration();
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (auto v = value("--collector")) {
      opt.collector = *v;
    } else if (auto v = value("--ca-file")) {
      opt.ca_file = *v;
    } else if (auto v = value("--tokens")) {
      opt.tokens_file = *v;
    } else if (auto v = value("--state-dir")) {
      opt.state_dir = *v;
    } else if (auto v = value("--agents")) {
      if (!absl::SimpleAtoi(*v, &opt.agents) || opt.agents < 1 || opt.agents > 100000)
        return bad("--agents takes 1 to 100000");
    } else if (auto v = value("--first")) {
      if (!absl::SimpleAtoi(*v, &opt.first) || opt.first < 0) return bad("--first takes a number >= 0");
    } else if (auto v = value("--interval")) {
      if (!dur(*v, &opt.interval) || opt.interval < absl::Seconds(1)) return bad("--interval takes a duration >= 1s");
    } else if (auto v = value("--packages")) {
      if (!absl::SimpleAtoi(*v, &opt.packages) || opt.packages < 1 || opt.packages > 100000)
        return bad("--packages takes 1 to 100000");
    } else if (auto v = value("--upgrades-per-hour")) {
      if (!absl::SimpleAtod(*v, &opt.upgrades_per_hour) || opt.upgrades_per_hour < 0)
        return bad("--upgrades-per-hour takes a number >= 0");
    } else if (auto v = value("--fail-jobs")) {
      if (!absl::SimpleAtod(*v, &opt.fail_jobs) || opt.fail_jobs < 0 || opt.fail_jobs > 1)
        return bad("--fail-jobs takes a fraction from 0 to 1");
    } else if (auto v = value("--duration")) {
      if (!dur(*v, &opt.duration)) return bad("--duration takes a duration (0s: until a signal)");
    } else if (auto v = value("--stats-every")) {
      if (!dur(*v, &opt.stats_every) || opt.stats_every < absl::Milliseconds(100))
        return bad("--stats-every takes a duration >= 100ms");
    } else if (auto v = value("--enroll-parallel")) {
      if (!absl::SimpleAtoi(*v, &opt.enroll_parallel) || opt.enroll_parallel < 1 || opt.enroll_parallel > 256)
        return bad("--enroll-parallel takes 1 to 256");
    } else if (auto v = value("--ledger")) {
      opt.ledger = *v;
    } else if (auto v = value("--trusted-key-id")) {
      if (v->size() != 16 || v->find_first_not_of("0123456789abcdef") != std::string::npos)
        return bad("--trusted-key-id takes a 16-hex-digit key id (stewardctl keys generate prints it)");
      opt.trusted_key_ids.push_back(*v);
      std::sort(opt.trusted_key_ids.begin(), opt.trusted_key_ids.end());
    } else if (auto v = value("--sources")) {
      if (!ParseSources(*v, &opt.source_first, &opt.source_count)) {
        return bad("--sources takes A.B.C.D-A.B.C.D within 127.0.0.0/8, or off");
      }
    } else {
      return bad(absl::StrCat("unknown argument '", a, "'"));
    }
  }
  if (opt.collector.empty() || opt.ca_file.empty() || opt.tokens_file.empty() || opt.state_dir.empty()) {
    std::fprintf(stderr, "steward-fleetsim: error: --collector, --ca-file, --tokens and --state-dir are needed\n%s",
                 kUsage);
    return 2;
  }
  g_source_first = opt.source_first;
  g_source_count = opt.source_count;
  auto ca = ReadFile(opt.ca_file);
  if (!ca.ok()) {
    std::fprintf(stderr, "steward-fleetsim: error: %s\n", std::string(ca.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> tokens = ReadTokens(opt.tokens_file);
  if (tokens.empty()) {
    std::fprintf(stderr, "steward-fleetsim: error: %s holds no token\n", opt.tokens_file.c_str());
    return 1;
  }
  if (auto s = MakeDirs(opt.state_dir, 0700); !s.ok()) {
    std::fprintf(stderr, "steward-fleetsim: error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  ::signal(SIGINT, OnSignal);
  ::signal(SIGTERM, OnSignal);
  ::signal(SIGPIPE, SIG_IGN);

  const absl::Time start = absl::Now();
  Stats stats;
  Timer timer;
  std::vector<std::unique_ptr<SimAgent>> agents;
  agents.reserve(opt.agents);
  for (int i = 0; i < opt.agents; ++i) {
    agents.push_back(std::make_unique<SimAgent>(opt.first + i, opt, &stats, &timer));
  }

  // Enrollment (or the stored identity) and the first connection, agent by
  // agent on a few threads, while the stats line runs.
  std::atomic<int> next{0};
  std::vector<std::thread> enrollers;
  for (int t = 0; t < opt.enroll_parallel; ++t) {
    enrollers.emplace_back([&] {
      for (int i = next++; i < opt.agents && !g_stop; i = next++) {
        SimAgent& a = *agents[i];
        absl::Status s;
        agent::Backoff backoff(absl::Seconds(1), absl::Seconds(30), static_cast<uint64_t>(i) + 1);
        for (int attempt = 0; attempt < 20 && !g_stop; ++attempt) {
          s = a.EnsureIdentity(*ca, tokens[static_cast<size_t>(opt.first + i) % tokens.size()]);
          if (s.ok() || absl::IsInvalidArgument(s) || absl::IsPermissionDenied(s)) break;
          absl::SleepFor(backoff.Next());  // rate-limited or the collector is busy: later
        }
        if (!s.ok()) {
          stats.enroll_errors.fetch_add(1);
          std::fprintf(stderr, "steward-fleetsim: %s: %s\n", a.hostname().c_str(), std::string(s.message()).c_str());
          continue;
        }
        stats.enrolled.fetch_add(1);
        a.Connect();
      }
    });
  }

  // Metric batches: agent i ticks at i/N of the interval, like a fleet
  // whose agents started at different times.
  std::thread ticker([&] {
    const absl::Duration step = opt.interval / opt.agents;
    absl::Time round = absl::Now();
    while (!g_stop) {
      for (int i = 0; i < opt.agents && !g_stop; ++i) {
        absl::Time due = round + step * i;
        absl::Time now = absl::Now();
        if (due > now) absl::SleepFor(due - now);
        agents[i]->Tick(absl::Now());
      }
      round += opt.interval;
    }
  });

  absl::Time next_stats = start + opt.stats_every;
  while (!g_stop) {
    absl::Time now = absl::Now();
    if (opt.duration > absl::ZeroDuration() && now - start >= opt.duration) break;
    if (now >= next_stats) {
      // Snapshots are built and freed agent by agent on gRPC's threads: give
      // the pages back, so rss_kb is what the simulation holds.
      ::malloc_trim(0);
      PrintStats(stats, start, opt.agents);
      next_stats += opt.stats_every;
      continue;
    }
    absl::SleepFor(std::min(next_stats - now, absl::Milliseconds(200)));
  }
  g_stop = true;
  for (auto& t : enrollers) t.join();
  ticker.join();
  for (auto& a : agents) a->Stop();
  for (int i = 0; i < 100 && g_live_sessions.load() > 0; ++i) absl::SleepFor(absl::Milliseconds(50));
  PrintStats(stats, start, opt.agents);
  if (!opt.ledger.empty()) {
    std::FILE* out = std::fopen(opt.ledger.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "steward-fleetsim: error: cannot write %s: %s\n", opt.ledger.c_str(), std::strerror(errno));
    } else {
      for (auto& a : agents) a->WriteLedger(out);
      std::fclose(out);
    }
  }
  // Not through the destructors: a reconnect the timer holds, or a session
  // gRPC has not finished, may still point at an agent.
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
}

}  // namespace
}  // namespace steward::fleetsim

int main(int argc, char** argv) { return steward::fleetsim::Main(argc, argv); }
