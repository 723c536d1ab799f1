// A deterministic simulation of rollouts (in the manner of FoundationDB's):
// the real RolloutEngine on a real Store (RocksDB in a tmpfs directory when
// there is one), driven by simulated agents and a simulated clock through
// long random sequences of events, each seed its own run:
//   - agents take jobs (pushed, or sent after their Welcome), start them
//     after a while, and report succeeded / failed / rolled back / skipped
//     (already at the version) results through their outbox, resending
//     what was not acked and now and then what was;
//   - their application breaks with the new version on some hosts, checks
//     fail while a job restarts the service, some hosts have no checks or
//     a check that failed before; reports queue while a host is offline;
//   - agents go offline and come back at any moment, also in the middle of
//     the engine's step (between two of its writes);
//   - people pause, resume, abort and retry at any moment; windows and
//     deadlines;
//   - the collector dies at a random write point (that write and all after
//     it never reach the disk, nothing more is sent) and restarts on what
//     was written: new Store, new engine, every session gone.
// After every step the invariants below are checked against the agents'
// own state (the reference model); at the end every agent connects and the
// deployment is driven to its end, then the final invariants are checked.
// A failing seed prints its trace; STEWARD_SIM_SEED=N replays one seed
// with the whole trace, STEWARD_SIM_SEEDS=N runs more seeds.
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "collector/artifacts/artifact_repository.h"
#include "common/jobs/deployment_names.h"
#include "collector/deploy/rollout_engine.h"
#include "collector/deploy/rollout_plan.h"
#include "collector/service/session_registry.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/collector/deploy/web_hosts.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

const std::string kSha = Sha256Hex("sim 2.0");
constexpr char kOld[] = "1.0";
constexpr char kNew[] = "2.0";

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  bool P(double p) { return std::uniform_real_distribution<double>(0, 1)(g_) < p; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))]; }

 private:
  std::mt19937_64 g_;
};

struct AgentJob {
  v1::JobSpec spec;
  enum Phase { kQueued, kRunning, kDone, kCancelled } phase = kQueued;
  int64_t finish_at_ms = 0;
  v1::JobResult result;
};

// One host as the reference model knows it: the truth the deployment's
// record is checked against.
struct SimAgent {
  std::string id;
  bool connected = false;
  std::string initial;
  std::string installed;
  bool breaks = false;          // the new version breaks its application
  bool has_checks = true;
  bool legacy_unhealthy = false;  // check "legacy" fails whatever is installed
  bool rollback_fails = false;
  double fail_p = 0;
  std::map<std::string, AgentJob> jobs;
  std::map<std::string, std::string> changed_from;  // job id -> version it replaced
  std::deque<v1::Envelope> outbox;
  v1::Envelope last_acked;
  uint64_t seq = 0;
  int64_t next_report_ms = 0;
  bool reported_ok = true;
};

class Simulation;

// An empty store, made once per process.
const std::string& EmptyStoreDir() {
  static const std::string* dir = [] {
    char tmpl[] = "/dev/shm/steward-sim-empty.XXXXXX";
    std::string base = std::filesystem::is_directory("/dev/shm") ? tmpl : "/tmp/steward-sim-empty.XXXXXX";
    if (::mkdtemp(base.data()) == nullptr) return new std::string();
    auto store = Store::Open(base + "/db", Store::OpenOptions{.preallocate_wal = false});
    if (!store.ok()) return new std::string();
    store->reset();
    std::atexit([] { std::filesystem::remove_all(std::filesystem::path(EmptyStoreDir()).parent_path()); });
    return new std::string(base + "/db");
  }();
  return *dir;
}

class AgentSink : public SettingsSink {
 public:
  AgentSink(Simulation* sim, std::string id) : sim_(sim), id_(std::move(id)) {}
  void PushSettings(const v1::AgentSettings&) override {}
  void PushJob(const v1::JobSpec& job) override;
  void PushCancel(const v1::CancelJob& cancel) override;
  void RequestHealthReport(const v1::HealthRequest& request) override;

 private:
  Simulation* sim_;
  std::string id_;
};

class Simulation {
 public:
  Simulation(uint64_t seed, std::string dir, bool verbose) : rng_(seed), seed_(seed), dir_(std::move(dir)),
                                                             verbose_(verbose) {}

  // Runs the seed; returns the violations (empty when every invariant held).
  std::vector<std::string> Run() {
    Setup();
    if (!violations_.empty()) return violations_;
    const int steps = rng_.Int(60, 220);
    for (int i = 0; i < steps && violations_.size() < 3; ++i) Step(/*settling=*/false);
    // Settle: no more crashes or people, everyone connects, paused rollouts
    // are resumed until the deployment ends.
    crash_at_ = -1;
    if (crashed_) Restart();
    for (int i = 0; i < 600 && violations_.empty(); ++i) {
      v1::Deployment d = Deployment();
      if (DeploymentFinished(d.state()) && !NeedsMore(d)) break;
      if (d.state() == v1::DEPLOYMENT_PAUSED) Control(v1::ControlDeploymentRequest::RESUME);
      // Waiting for tomorrow's window: tomorrow comes.
      absl::StatusOr<MaintenanceWindows> window = MaintenanceWindows::Parse(spec_.window());
      if (window.ok() && !window->Contains(now_)) now_ = window->NextOpen(now_);
      Step(/*settling=*/true);
    }
    if (violations_.empty()) CheckFinal();
    return violations_;
  }

  const std::vector<std::string>& trace() const { return trace_; }

  // Sinks call these (under the registry's lock: they only record).
  void Delivered(const std::string& agent, const v1::JobSpec& spec) {
    if (crashed_) return;  // a dead collector sends nothing
    SimAgent& a = Agent(agent);
    Note(absl::StrCat(agent, " <- job ", spec.job_id()));
    absl::StatusOr<v1::Job> stored = store_->GetJob(agent, spec.job_id());
    if (!stored.ok()) {
      Violation(absl::StrCat("job ", spec.job_id(), " delivered to ", agent, " but not stored: ",
                             stored.status().ToString()));
    } else if (stored->withdrawn()) {
      Violation(absl::StrCat("job ", spec.job_id(), " delivered to ", agent, " after it was withdrawn"));
    }
    if (IsChange(spec) && !in_hello_) {
      CheckNewJobAllowed(agent, spec);
      // `--package demo`: a version the canary pinned (stored by an earlier
      // step) is the one every new job names.
      absl::StatusOr<v1::Deployment> d = store_->GetDeployment(id_);
      if (spec.has_apt_package() && d.ok() && !d->version().empty() && spec.apt_package().version() != d->version()) {
        Violation(absl::StrCat("job ", spec.job_id(), " for ", agent, " names version '",
                               spec.apt_package().version(), "', not the pinned ", d->version()));
      }
    }
    auto [it, fresh] = a.jobs.try_emplace(spec.job_id());
    if (fresh) {
      it->second.spec = spec;
      return;
    }
    // A repeat: the agent answers with the result it has (runs it once).
    if (it->second.phase == AgentJob::kDone || it->second.phase == AgentJob::kCancelled) Send(a, it->second.result);
  }
  // The agent reports at its next step.
  void HealthRequested(const std::string& agent) {
    if (!crashed_) Agent(agent).next_report_ms = 0;
  }
  void Cancelled(const std::string& agent, const v1::CancelJob& c) {
    if (crashed_) return;
    SimAgent& a = Agent(agent);
    Note(absl::StrCat(agent, " <- cancel ", c.job_id()));
    auto [it, fresh] = a.jobs.try_emplace(c.job_id());
    AgentJob& j = it->second;
    if (fresh || j.phase == AgentJob::kQueued) {
      j.phase = AgentJob::kCancelled;
      j.result = Result(a, c.job_id(), v1::JOB_SKIPPED, a.installed, "cancelled by the collector before it started");
      j.result.set_cancelled(true);
      Send(a, j.result);
    } else if (j.phase != AgentJob::kRunning) {
      Send(a, j.result);
    }
  }

 private:
  void Setup() {
    // A new data directory is a copy of an empty one: creating the column
    // families costs more than the rest of a run.
    std::error_code ec;
    std::filesystem::copy(EmptyStoreDir(), dir_ + "/db", std::filesystem::copy_options::recursive, ec);
    if (ec) Violation(absl::StrCat("cannot copy the empty store: ", ec.message()));
    OpenCollector();
    v1::Artifact art;
    art.set_sha256(kSha);
    art.set_name("demo");
    art.set_version(kNew);
    Expect(store_->PutArtifact(art), "artifact");
    const int n = rng_.Int(1, 10);
    for (int i = 0; i < n; ++i) {
      SimAgent& a = agents_.emplace_back();
      a.id = absl::StrCat("h", i);
      a.initial = rng_.P(0.1) ? kNew : kOld;
      a.installed = a.initial;
      a.breaks = rng_.P(0.25);
      a.has_checks = rng_.P(0.85);
      a.legacy_unhealthy = a.has_checks && rng_.P(0.2);
      a.rollback_fails = rng_.P(0.15);
      a.fail_p = rng_.P(0.5) ? 0 : 0.25;
      Expect(testing::EnrollWebHost(*store_, a.id), "enroll");
      Note(absl::StrCat(a.id, ": at ", a.initial, a.breaks ? ", breaks with 2.0" : "",
                        a.has_checks ? "" : ", no checks", a.legacy_unhealthy ? ", legacy check failing" : "",
                        a.rollback_fails ? ", rollback fails" : "", a.fail_p > 0 ? ", jobs fail 25%" : ""));
    }
    sinks_.clear();
    for (SimAgent& a : agents_) sinks_.push_back(std::make_unique<AgentSink>(this, a.id));
    for (SimAgent& a : agents_) {
      Report(a);  // a first health report, before any job
      if (rng_.P(0.7)) Connect(a);
    }
    v1::DeploymentSpec spec;
    // A pushed artifact, or `--package demo` from the hosts' repositories
    // (the newest: 2.0), whose version the canary pins.
    if (rng_.P(0.7)) {
      spec.set_artifact_sha256(kSha);
    } else {
      spec.set_apt_package("demo");
    }
    spec.set_target("label:role=web");
    for (absl::string_view w : absl::StrSplit(rng_.Pick<std::string>({"100%", "1,100%", "1,50%,100%", "2,100%"}),
                                               ',')) {
      spec.add_waves(std::string(w));
    }
    spec.set_max_parallel(static_cast<uint32_t>(rng_.Int(0, 3)));
    spec.set_error_threshold_pct(rng_.Pick<double>({0, 30, 100}));
    spec.set_health_gate_ms(rng_.Pick<int64_t>({0, 30'000, 120'000}));
    spec.set_require_checks(rng_.P(0.2));
    spec.set_on_failure(rng_.P(0.5) ? v1::DeploymentSpec::PAUSE : v1::DeploymentSpec::ABORT);
    if (rng_.P(0.25)) spec.set_window(rng_.P(0.5) ? "12:00-13:00" : "12:20-14:00");
    if (rng_.P(0.3)) spec.set_deadline_ms(absl::ToUnixMillis(now_) + rng_.Int(30, 120) * 60'000);
    absl::StatusOr<v1::Deployment> d = engine_->Create(spec, "sim", false);
    if (!d.ok()) {
      Violation(absl::StrCat("create: ", d.status().ToString()));
      return;
    }
    id_ = d->id();
    spec_ = d->spec();
    Note(absl::StrCat("deployment ", id_, ": waves ", absl::StrJoin(spec_.waves(), ","), " max_parallel ",
                      spec_.max_parallel(), " threshold ", spec_.error_threshold_pct(), "% gate ",
                      spec_.health_gate_ms() / 1000, "s", spec_.require_checks() ? " (checks required)" : "",
                      " on_failure ", spec_.on_failure() == v1::DeploymentSpec::ABORT ? "abort" : "pause",
                      spec_.window().empty() ? "" : " window " + spec_.window(),
                      spec_.deadline_ms() ? absl::StrCat(" deadline +", (spec_.deadline_ms() -
                                                                          absl::ToUnixMillis(now_)) / 60'000, "m")
                                          : ""));
  }

  // `reopen_store`: a new Store on the directory (RocksDB recovers from its
  // files); otherwise the same one, whose contents are the same (the writes
  // after the crash point never reached it), for speed.
  void OpenCollector(bool reopen_store = true) {
    engine_.reset();
    sessions_ = std::make_unique<SessionRegistry>();
    if (!reopen_store) {
      engine_ = std::make_unique<RolloutEngine>(
          RolloutDeps{store_.get(), artifacts_.get(), sessions_.get(), [this] { return now_; }, [this] { return NewId(); }});
      return;
    }
    artifacts_.reset();
    blobs_.reset();
    store_.reset();
    auto store = Store::Open(dir_ + "/db", Store::OpenOptions{.preallocate_wal = false});
    if (!store.ok()) {
      Violation(absl::StrCat("store: ", store.status().ToString()));
      return;
    }
    store_ = std::move(*store);
    store_->SetWriteHookForTesting([this](absl::string_view what) { return BeforeWrite(what); });
    auto blobs = ArtifactBlobs::Open(dir_ + "/artifacts");
    if (!blobs.ok()) {
      Violation(absl::StrCat("blobs: ", blobs.status().ToString()));
      return;
    }
    blobs_ = std::move(*blobs);
    artifacts_ = std::make_unique<ArtifactRepository>(store_.get(), blobs_.get());
    engine_ = std::make_unique<RolloutEngine>(
        RolloutDeps{store_.get(), artifacts_.get(), sessions_.get(), [this] { return now_; }, [this] { return NewId(); }});
  }

  // Every write of the store passes here first.
  bool BeforeWrite(absl::string_view what) {
    if (crashed_) return false;
    if (crash_at_ >= 0 && writes_++ >= crash_at_) {
      Note(absl::StrCat("collector dies before writing a ", what));
      crashed_ = true;
      return false;
    }
    // An agent connecting between two of the engine's writes.
    if (in_tick_ && !settling_ && rng_.P(0.08)) {
      std::vector<SimAgent*> offline;
      for (SimAgent& a : agents_) {
        if (!a.connected) offline.push_back(&a);
      }
      if (!offline.empty()) {
        SimAgent* a = offline[static_cast<size_t>(rng_.Int(0, static_cast<int>(offline.size()) - 1))];
        Note(absl::StrCat(a->id, " connects between two writes (before a ", what, ")"));
        connected_in_tick_.insert(a->id);
        Connect(*a, /*flush=*/false);
      }
    }
    return true;
  }

  void Step(bool settling) {
    settling_ = settling;
    now_ += absl::Seconds(rng_.P(0.05) ? rng_.Int(120, 900) : rng_.Int(1, 15));
    crash_at_ = !settling && rng_.P(0.04) ? rng_.Int(0, 6) : -1;
    writes_ = 0;
    if (crash_at_ >= 0) Note(absl::StrCat("the collector will die at write ", crash_at_ + 1, " from here"));
    for (SimAgent& a : agents_) {
      if (settling) {
        Connect(a);
      } else if (rng_.P(0.04)) {
        a.connected ? Disconnect(a) : Connect(a);
      }
      AgentStep(a);
    }
    if (!settling && !crashed_ && rng_.P(0.025)) {
      Control(rng_.Pick<v1::ControlDeploymentRequest::Action>(
          {v1::ControlDeploymentRequest::PAUSE, v1::ControlDeploymentRequest::RESUME,
           v1::ControlDeploymentRequest::RETRY, v1::ControlDeploymentRequest::RETRY,
           v1::ControlDeploymentRequest::ABORT}));
    }
    const v1::Deployment before = crashed_ ? v1::Deployment() : Deployment();
    if (!crashed_) {
      in_tick_ = true;
      connected_in_tick_.clear();
      engine_->Tick();
      in_tick_ = false;
    }
    if (crashed_) {
      Restart();
      return;
    }
    CheckStep(before, Deployment());
  }

  void Restart() {
    Note(absl::StrCat("collector restarts at ", absl::FormatTime("%H:%M:%S", now_, absl::UTCTimeZone())));
    for (SimAgent& a : agents_) a.connected = false;
    crashed_ = false;
    crash_at_ = -1;
    OpenCollector(/*reopen_store=*/rng_.P(0.25));
  }

  void Control(v1::ControlDeploymentRequest::Action action) {
    absl::StatusOr<v1::Deployment> d = engine_->Control(id_, action, "sim");
    Note(absl::StrCat("people: ", v1::ControlDeploymentRequest::Action_Name(action), " -> ",
                      d.ok() ? DeploymentStateName(d->state()) : std::string(d.status().message())));
    if (crashed_) Restart();
  }

  // `flush`: false between two of the engine's writes (the store's locks
  // are held there; the agent's outbox goes at its next step).
  void Connect(SimAgent& a, bool flush = true) {
    if (a.connected || crashed_) return;
    a.connected = true;
    Note(absl::StrCat(a.id, " connects"));
    sessions_->Opened(a.id, Sink(a.id), {});
    // As SessionReactor::HandleHello: registered first, then what to send.
    absl::StatusOr<Store::JobsToSend> open = store_->OpenJobs(a.id);
    if (!open.ok()) {
      Violation(absl::StrCat("open jobs of ", a.id, ": ", open.status().ToString()));
      return;
    }
    in_hello_ = true;
    for (const v1::JobSpec& j : open->pending) Delivered(a.id, j);
    for (const v1::CancelJob& c : open->cancels) Cancelled(a.id, c);
    in_hello_ = false;
    if (flush) Flush(a);
  }

  void Disconnect(SimAgent& a) {
    a.connected = false;
    Note(absl::StrCat(a.id, " goes offline"));
    sessions_->Closed(a.id, Sink(a.id));
  }

  void AgentStep(SimAgent& a) {
    const int64_t now = absl::ToUnixMillis(now_);
    for (auto& [id, j] : a.jobs) {
      if (j.phase == AgentJob::kQueued && rng_.P(0.6)) {
        if (a.connected) {
          absl::StatusOr<v1::Job> stored = store_->GetJob(a.id, id);
          if (stored.ok() && stored->withdrawn()) {
            Violation(absl::StrCat(a.id, " starts job ", id, " while connected, after it was withdrawn"));
          }
        }
        j.phase = AgentJob::kRunning;
        j.finish_at_ms = now + rng_.Int(1, 25) * 1000;
        Note(absl::StrCat(a.id, " starts ", id));
      } else if (j.phase == AgentJob::kRunning && now >= j.finish_at_ms) {
        Finish(a, id, j);
      }
    }
    if (a.has_checks && (now >= a.next_report_ms || AppOk(a) != a.reported_ok)) Report(a);
    if (!a.connected) return;
    if (rng_.P(0.02) && a.last_acked.seq() != 0) a.outbox.push_front(a.last_acked);  // a resend of the acked
    Flush(a);
  }

  bool AppOk(const SimAgent& a) const {
    for (const auto& [id, j] : a.jobs) {
      if (j.phase == AgentJob::kRunning) return false;  // the package's scripts restart the service
    }
    return !(a.breaks && a.installed == kNew);
  }

  void Report(SimAgent& a) {
    const int64_t now = absl::ToUnixMillis(now_);
    a.reported_ok = AppOk(a);
    a.next_report_ms = now + 30'000;
    v1::Envelope env;
    env.set_seq(++a.seq);
    auto add = [&](const std::string& name, bool ok) {
      v1::CheckState* c = env.mutable_health_report()->add_checks();
      c->set_name(name);
      c->set_type("tcp");
      c->set_status(ok ? v1::CheckState::OK : v1::CheckState::DOWN);
      c->set_time_ms(now);
      if (!ok) c->set_reason("connection refused");
    };
    if (a.has_checks) add("app", a.reported_ok);
    if (a.has_checks && verbose_) Note(absl::StrCat(a.id, " reports app ", a.reported_ok ? "ok" : "down"));
    if (a.legacy_unhealthy) add("legacy", false);
    a.outbox.push_back(std::move(env));
  }

  v1::JobResult Result(const SimAgent& a, const std::string& job_id, v1::JobStatus status, const std::string& old,
                       const std::string& message) {
    v1::JobResult r;
    r.set_job_id(job_id);
    r.set_status(status);
    r.set_package("demo");
    r.set_old_version(old);
    r.set_new_version(a.installed);
    r.set_message(message);
    r.set_exit_code(status == v1::JOB_SUCCEEDED || status == v1::JOB_SKIPPED ? 0 : 1);
    r.set_finished_ms(absl::ToUnixMillis(now_));
    return r;
  }

  void Finish(SimAgent& a, const std::string& id, AgentJob& j) {
    const std::string before = a.installed;
    if (j.spec.has_rollback()) {
      auto from = a.changed_from.find(j.spec.rollback().of_job_id());
      if (from == a.changed_from.end()) {
        j.result = Result(a, id, v1::JOB_SKIPPED, before, "nothing to undo");
      } else if (a.rollback_fails) {
        j.result = Result(a, id, v1::JOB_FAILED, before, "the kept package is gone");
      } else {
        a.installed = from->second;
        a.changed_from.erase(from);
        j.result = Result(a, id, v1::JOB_ROLLED_BACK, before, "restored");
      }
    } else if (j.spec.has_apt_package() && !j.spec.apt_package().version().empty() &&
               j.spec.apt_package().version() != kNew) {
      j.result = Result(a, id, v1::JOB_FAILED, before, "no such version in the repositories");
    } else if (a.installed == kNew) {
      j.result = Result(a, id, v1::JOB_SKIPPED, before, "already at 2.0");
    } else if (rng_.P(a.fail_p)) {
      const bool restored = rng_.P(0.5);
      j.result = Result(a, id, restored ? v1::JOB_ROLLED_BACK : v1::JOB_FAILED, before,
                        restored ? "postinst failed; restored 1.0" : "pre-check failed: not enough disk");
    } else {
      a.installed = kNew;
      a.changed_from[id] = before;
      j.result = Result(a, id, v1::JOB_SUCCEEDED, before, "");
    }
    j.phase = AgentJob::kDone;
    Note(absl::StrCat(a.id, " finishes ", id, ": ", v1::JobStatus_Name(j.result.status()), " (", before, " -> ",
                      a.installed, ")"));
    Send(a, j.result);
  }

  void Send(SimAgent& a, const v1::JobResult& r) {
    v1::Envelope env;
    env.set_seq(++a.seq);
    *env.mutable_job_result() = r;
    a.outbox.push_back(std::move(env));
  }

  // Delivers the outbox in order; what a dead collector did not write stays.
  void Flush(SimAgent& a) {
    while (!a.outbox.empty() && a.connected && !crashed_) {
      const v1::Envelope& env = a.outbox.front();
      absl::StatusOr<ApplyOutcome> applied = store_->ApplyEnvelope(a.id, env, absl::ToUnixMillis(now_));
      if (crashed_) return;  // no ack: it is sent again
      if (!applied.ok()) {
        Violation(absl::StrCat("envelope ", env.seq(), " of ", a.id, ": ", applied.status().ToString()));
        return;
      }
      if (env.seq() > a.last_acked.seq()) a.last_acked = env;
      a.outbox.pop_front();
    }
  }

  // A new install job of the deployment is only made within its window and
  // deadline, and while fewer than max_parallel jobs run on connected hosts.
  void CheckNewJobAllowed(const std::string& agent, const v1::JobSpec& spec) {
    const int64_t now = absl::ToUnixMillis(now_);
    if (spec_.deadline_ms() != 0 && now >= spec_.deadline_ms()) {
      Violation(absl::StrCat("job ", spec.job_id(), " for ", agent, " made after the deadline"));
    }
    absl::StatusOr<MaintenanceWindows> window = MaintenanceWindows::Parse(spec_.window());
    if (window.ok() && !window->Contains(now_)) {
      Violation(absl::StrCat("job ", spec.job_id(), " for ", agent, " made outside the window"));
    }
    if (spec_.max_parallel() == 0) return;
    uint32_t busy = 0;
    // A host that came back during this step of the engine was counted as
    // offline: its slot is taken back from the next step on.
    for (const SimAgent& a : agents_) {
      if (!a.connected || a.id == agent || connected_in_tick_.count(a.id) > 0) continue;
      for (const auto& [id, j] : a.jobs) {
        const bool install = IsChange(j.spec);
        busy += install && (j.phase == AgentJob::kQueued || j.phase == AgentJob::kRunning) ? 1 : 0;
      }
    }
    if (busy >= spec_.max_parallel()) {
      Violation(absl::StrCat("job ", spec.job_id(), " for ", agent, " made while ", busy,
                             " jobs run on connected hosts (max_parallel ", spec_.max_parallel(), ")"));
    }
  }

  // After every step: the record adds up, gate decisions were made on
  // fresh reports, and a finished state matches the hosts.
  void CheckStep(const v1::Deployment& before, const v1::Deployment& d) {
    if (d.id().empty()) return;
    std::map<uint32_t, uint32_t> per_wave;
    for (const v1::DeploymentHost& h : d.hosts()) ++per_wave[h.wave()];
    uint32_t total = 0;
    for (int w = 0; w < d.waves_size(); ++w) {
      total += d.waves(w).hosts();
      if (per_wave[static_cast<uint32_t>(w)] != d.waves(w).hosts()) {
        Violation(absl::StrCat("wave ", w + 1, " counts ", d.waves(w).hosts(), " hosts but has ",
                               per_wave[static_cast<uint32_t>(w)]));
      }
    }
    if (total != agents_.size() || d.hosts_size() != static_cast<int>(agents_.size())) {
      Violation(absl::StrCat("the waves add up to ", total, " hosts of ", agents_.size()));
    }
    std::map<std::string, const v1::DeploymentHost*> was;
    for (const v1::DeploymentHost& h : before.hosts()) was[h.agent_id()] = &h;
    for (const v1::DeploymentHost& h : d.hosts()) {
      const v1::DeploymentHost* prev = was[h.agent_id()];
      const bool newly_failed_gate = absl::StartsWith(h.gate(), "failed: check") &&
                                     (prev == nullptr || prev->gate() != h.gate());
      if (newly_failed_gate) CheckFresh(h, /*failed_check=*/true);
    }
    for (int w = 0; w < d.waves_size() && w < before.waves_size(); ++w) {
      if (d.waves(w).done_ms() == 0 || before.waves(w).done_ms() != 0 || d.waves(w).gate_until_ms() == 0) continue;
      for (const v1::DeploymentHost& h : d.hosts()) {
        if (h.wave() == static_cast<uint32_t>(w) && absl::StartsWith(h.gate(), "passed")) CheckFresh(h, false);
      }
    }
    if (d.state() != before.state()) {
      Note(absl::StrCat("deployment: ", DeploymentStateName(before.state()), " -> ", DeploymentStateName(d.state()),
                        d.message().empty() ? "" : ": " + d.message()));
      CheckFinishedState(d);
    }
  }

  // The stored health the gate judged is newer than the host's job result.
  void CheckFresh(const v1::DeploymentHost& h, bool failed_check) {
    absl::StatusOr<std::vector<v1::CheckState>> checks = store_->ListHealth(h.agent_id());
    if (!checks.ok()) return;
    for (const v1::CheckState& c : *checks) {
      const bool judged = !failed_check || absl::StrContains(h.gate(), absl::StrCat("check ", c.name(), " "));
      if (judged && c.time_ms() < h.finished_ms()) {
        Violation(absl::StrCat(h.agent_id(), ": gate ", h.gate(), " on check ", c.name(), " reported ",
                               (h.finished_ms() - c.time_ms()) / 1000, "s before the job's result"));
      }
    }
  }

  void CheckFinishedState(const v1::Deployment& d) {
    for (const v1::DeploymentHost& h : d.hosts()) {
      const SimAgent& a = Agent(h.agent_id());
      if (d.state() == v1::DEPLOYMENT_SUCCEEDED) {
        if (a.installed != kNew) Violation(absl::StrCat("succeeded, but ", a.id, " is at ", a.installed));
        // Without a gate people chose not to judge health; a host at 2.0
        // from the start had its application down before (the gate leaves
        // what was unhealthy before alone).
        if (spec_.health_gate_ms() > 0 && a.has_checks && a.breaks && a.installed == kNew && a.initial != kNew) {
          Violation(absl::StrCat("succeeded, but the application on ", a.id, " is down; its record: ",
                                 DeploymentHostStatusName(h.status()), ", gate '", h.gate(), "', finished ",
                                 absl::FormatTime("%H:%M:%S", absl::FromUnixMillis(h.finished_ms()),
                                                  absl::UTCTimeZone()),
                                 ", '", h.message(), "'"));
        }
        if (!a.has_checks && h.gate() != "passed: no checks to judge" && spec_.health_gate_ms() > 0) {
          Violation(absl::StrCat("succeeded; ", a.id, " has no checks but its gate says '", h.gate(), "'"));
        }
      }
      if (d.state() == v1::DEPLOYMENT_ROLLED_BACK && a.installed != a.initial) {
        Violation(absl::StrCat("rolled back, but ", a.id, " is at ", a.installed, " (was ", a.initial,
                               "); its record: ", DeploymentHostStatusName(h.status()), " ", h.old_version(), " -> ",
                               h.new_version(), ", '", h.message(), "'"));
      }
    }
  }

  // At the end, with every agent connected and every outbox delivered.
  void CheckFinal() {
    v1::Deployment d = Deployment();
    if (!DeploymentFinished(d.state())) {
      Violation(absl::StrCat("did not finish: ", DeploymentStateName(d.state()), ": ", d.message()));
      return;
    }
    CheckFinishedState(d);
    for (const v1::DeploymentHost& h : d.hosts()) {
      const SimAgent& a = Agent(h.agent_id());
      if (h.status() == v1::HOST_RUNNING || h.withdrawn() || RollbackWaiting(h)) {
        Violation(absl::StrCat(h.agent_id(), " still ", DeploymentHostStatusName(h.status()),
                               h.withdrawn() ? " (withdrawn)" : "", " after every agent reported"));
      }
      // Its last result is the host's state: none lost, none from before.
      if (!h.new_version().empty() && h.new_version() != a.installed) {
        Violation(absl::StrCat(h.agent_id(), " is ", DeploymentHostStatusName(h.status()), " at ",
                               h.new_version(), " by the deployment but at ", a.installed, " on the host"));
      }
      if (d.state() == v1::DEPLOYMENT_SUCCEEDED && h.status() != v1::HOST_SUCCEEDED &&
          h.status() != v1::HOST_SKIPPED) {
        Violation(absl::StrCat("succeeded with ", h.agent_id(), " ", DeploymentHostStatusName(h.status())));
      }
    }
  }

  // A job of the deployment's change (not a rollback).
  static bool IsChange(const v1::JobSpec& spec) { return spec.has_install_artifact() || spec.has_apt_package(); }
  static bool RollbackWaiting(const v1::DeploymentHost& h) {
    return !h.rollback_job_id().empty() && !h.rollback_done();
  }
  bool NeedsMore(const v1::Deployment& d) const {
    for (const SimAgent& a : agents_) {
      if (!a.outbox.empty()) return true;
      for (const auto& [id, j] : a.jobs) {
        if (j.phase == AgentJob::kQueued || j.phase == AgentJob::kRunning) return true;
      }
    }
    for (const v1::DeploymentHost& h : d.hosts()) {
      if (h.status() == v1::HOST_RUNNING || h.withdrawn() || RollbackWaiting(h)) return true;
    }
    return false;
  }

  v1::Deployment Deployment() {
    absl::StatusOr<v1::Deployment> d = store_->GetDeployment(id_);
    if (!d.ok()) {
      Violation(absl::StrCat("deployment: ", d.status().ToString()));
      return v1::Deployment();
    }
    return *d;
  }
  SimAgent& Agent(const std::string& id) {
    for (SimAgent& a : agents_) {
      if (a.id == id) return a;
    }
    ADD_FAILURE() << "no agent " << id;
    return agents_.front();
  }
  AgentSink* Sink(const std::string& id) {
    for (size_t i = 0; i < agents_.size(); ++i) {
      if (agents_[i].id == id) return sinks_[i].get();
    }
    return nullptr;
  }
  // Deployment ids from the seed: the canary (the first in a stable shuffle
  // by id) is the same in a replay.
  std::string NewId() {
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rng_.Int(0, 0x7fffffff)));
    return hex;
  }
  void Expect(const absl::Status& st, const char* what) {
    if (!st.ok()) Violation(absl::StrCat(what, ": ", st.ToString()));
  }
  void Note(std::string line) {
    trace_.push_back(absl::StrCat(absl::FormatTime("%H:%M:%S ", now_, absl::UTCTimeZone()), line));
  }
  void Violation(const std::string& what) {
    Note("VIOLATION: " + what);
    violations_.push_back(what);
  }

  Rng rng_;
  uint64_t seed_;
  std::string dir_;
  bool verbose_;
  // 2026-12-04 12:00 UTC, a Friday.
  absl::Time now_ = absl::FromCivil(absl::CivilMinute(2026, 12, 4, 12, 0), absl::UTCTimeZone());
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactBlobs> blobs_;
  std::unique_ptr<ArtifactRepository> artifacts_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<RolloutEngine> engine_;
  std::vector<SimAgent> agents_;
  std::vector<std::unique_ptr<AgentSink>> sinks_;
  std::string id_;
  v1::DeploymentSpec spec_;
  int crash_at_ = -1;
  int writes_ = 0;
  bool crashed_ = false;
  bool in_tick_ = false;
  std::set<std::string> connected_in_tick_;
  bool in_hello_ = false;
  bool settling_ = false;
  std::vector<std::string> trace_;
  std::vector<std::string> violations_;
};

void AgentSink::PushJob(const v1::JobSpec& job) { sim_->Delivered(id_, job); }
void AgentSink::PushCancel(const v1::CancelJob& cancel) { sim_->Cancelled(id_, cancel); }
void AgentSink::RequestHealthReport(const v1::HealthRequest&) { sim_->HealthRequested(id_); }

std::string SimRoot() {
  // tmpfs makes the synced writes of thousands of runs cheap; the store is
  // the same RocksDB either way.
  return std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "";
}

uint64_t EnvNumber(const char* name, uint64_t otherwise) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : otherwise;
}

// Seeds [first, first + count) of one shard: ctest runs the shards side
// by side.
void RunSeeds(uint64_t first, uint64_t count) {
  spdlog::set_level(spdlog::level::off);
  const char* replay = std::getenv("STEWARD_SIM_SEED");
  if (replay != nullptr && *replay != '\0') {
    first = std::strtoull(replay, nullptr, 10);
    count = 1;
    spdlog::set_level(spdlog::level::info);
  }
  const std::string root = SimRoot();
  if (!root.empty()) setenv("TMPDIR", root.c_str(), 1);
  int failed = 0;
  for (uint64_t seed = first; seed < first + count && failed < 3; ++seed) {
    steward::testing::TempDir dir("steward-sim");
    Simulation sim(seed, dir.path(), replay != nullptr);
    const std::vector<std::string> violations = sim.Run();
    if (replay != nullptr) {
      for (const std::string& line : sim.trace()) std::cout << line << "\n";
    }
    if (violations.empty()) continue;
    ++failed;
    const std::vector<std::string>& trace = sim.trace();
    const size_t from = trace.size() > 150 ? trace.size() - 150 : 0;
    std::ostringstream out;
    for (size_t i = from; i < trace.size(); ++i) out << "  " << trace[i] << "\n";
    ADD_FAILURE() << "seed " << seed << ": " << violations.front() << "\n"
                  << (from > 0 ? "  ... (earlier steps left out)\n" : "") << out.str()
                  << "replay: STEWARD_SIM_SEED=" << seed << " " << ::testing::internal::GetArgvs()[0]
                  << " --gtest_filter='" << ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()
                  << "." << ::testing::UnitTest::GetInstance()->current_test_info()->name() << "'";
  }
}

constexpr uint64_t kSeedsPerShard = 500;

TEST(RolloutSimulationTest, Shard1) { RunSeeds(1, EnvNumber("STEWARD_SIM_SEEDS", kSeedsPerShard)); }
TEST(RolloutSimulationTest, Shard2) {
  RunSeeds(1'000'001, EnvNumber("STEWARD_SIM_SEEDS", kSeedsPerShard));
}
TEST(RolloutSimulationTest, Shard3) {
  RunSeeds(2'000'001, EnvNumber("STEWARD_SIM_SEEDS", kSeedsPerShard));
}
TEST(RolloutSimulationTest, Shard4) {
  RunSeeds(3'000'001, EnvNumber("STEWARD_SIM_SEEDS", kSeedsPerShard));
}

}  // namespace
}  // namespace steward::collector
