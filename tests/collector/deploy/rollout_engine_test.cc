// The rollout state machine on a real store with a clock the test moves:
// agents are played by the test through the same store calls their
// reports take (ApplyEnvelope with job results and health reports). The
// real agents and processes are in tests/e2e/deploy_test.py.
#include "collector/deploy/rollout_engine.h"

#include <atomic>
#include <map>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/artifacts/artifact_repository.h"
#include "collector/service/session_registry.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "common/jobs/deployment_change.h"
#include "common/jobs/job_statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/deploy/web_hosts.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using ::testing::HasSubstr;
using steward::testing::TempDir;

const std::string kSha = Sha256Hex("demo 2.0");

// An open session: the engine only asks whether a host is connected.
class NullSink : public SettingsSink {
 public:
  void PushSettings(const v1::AgentSettings&) override {}
  void PushJob(const v1::JobSpec&) override {}
  void PushCancel(const v1::CancelJob&) override {}
};

// A session that keeps what it was sent.
class RecordingSink : public SettingsSink {
 public:
  void PushSettings(const v1::AgentSettings&) override {}
  void PushJob(const v1::JobSpec& job) override { jobs.push_back(job.job_id()); }
  void PushCancel(const v1::CancelJob& cancel) override { cancels.push_back(cancel.job_id()); }
  void RequestHealthReport(const v1::HealthRequest& request) override { health_requests.push_back(request); }
  std::vector<std::string> jobs, cancels;
  std::vector<v1::HealthRequest> health_requests;
};

class RolloutEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenStore();
    v1::Artifact a;
    a.set_sha256(kSha);
    a.set_name("demo");
    a.set_version("2.0");
    ASSERT_TRUE(store_->PutArtifact(a).ok());
  }

  void OpenStore() {
    engine_.reset();
    artifacts_.reset();
    store_.reset();
    auto store = Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto blobs = ArtifactBlobs::Open(dir_.path() + "/artifacts");
    ASSERT_TRUE(blobs.ok());
    blobs_ = std::move(*blobs);
    artifacts_ = std::make_unique<ArtifactRepository>(store_.get(), blobs_.get());
    engine_ = std::make_unique<RolloutEngine>(
        RolloutDeps{store_.get(), artifacts_.get(), &sessions_, [this] { return now_; }});
  }

  // Hosts h0..h{n-1} labelled role=web (enrolled as Enroll leaves them).
  void AddHosts(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(testing::EnrollWebHost(*store_, absl::StrCat("h", i)).ok());
  }

  v1::DeploymentSpec Spec(const std::string& waves = "100%") {
    v1::DeploymentSpec s;
    s.set_artifact_sha256(kSha);
    s.set_target("label:role=web");
    s.add_waves(waves);
    // No gate and no bound unless a test sets them (the defaults are
    // checked on their own).
    s.set_health_gate_ms(0);
    s.set_max_parallel(0);
    return s;
  }

  v1::Deployment Create(const v1::DeploymentSpec& spec) {
    auto d = engine_->Create(spec, "alice", false);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : v1::Deployment();
  }

  v1::Deployment Get(const std::string& id) { return store_->GetDeployment(id).value(); }

  // The agent's report of a job, through the envelope path.
  void Report(const std::string& agent, const std::string& job_id, v1::JobStatus status,
              const std::string& old_version = "1.0", const std::string& new_version = "2.0") {
    v1::Envelope env;
    env.set_seq(++seq_[agent]);
    v1::JobResult* r = env.mutable_job_result();
    r->set_job_id(job_id);
    r->set_status(status);
    r->set_package("demo");
    r->set_old_version(old_version);
    r->set_new_version(status == v1::JOB_ROLLED_BACK ? old_version : new_version);
    r->set_message(status == v1::JOB_SUCCEEDED ? "" : "postinst failed");
    r->set_finished_ms(absl::ToUnixMillis(now_));
    ASSERT_TRUE(store_->ApplyEnvelope(agent, env, absl::ToUnixMillis(now_)).ok());
  }

  void Connect(int n) {
    for (int i = 0; i < n; ++i) sessions_.Opened(absl::StrCat("h", i), &sink_, {});
  }
  void Disconnect(const std::string& agent) { sessions_.Closed(agent, &sink_); }

  void Health(const std::string& agent, std::map<std::string, v1::CheckState::Status> checks) {
    v1::Envelope env;
    env.set_seq(++seq_[agent]);
    for (const auto& [name, status] : checks) {
      v1::CheckState* c = env.mutable_health_report()->add_checks();
      c->set_name(name);
      c->set_type("tcp");
      c->set_status(status);
      c->set_time_ms(absl::ToUnixMillis(now_));
      if (status != v1::CheckState::OK) c->set_reason("connection refused");
    }
    ASSERT_TRUE(store_->ApplyEnvelope(agent, env, absl::ToUnixMillis(now_)).ok());
  }

  // Copies: callers often pass a temporary deployment.
  std::vector<v1::DeploymentHost> WithStatus(const v1::Deployment& d, v1::DeploymentHostStatus s) {
    std::vector<v1::DeploymentHost> out;
    for (const auto& h : d.hosts()) {
      if (h.status() == s) out.push_back(h);
    }
    return out;
  }

  // Reports every running host's job with `status`.
  void FinishRunning(const std::string& id, v1::JobStatus status = v1::JOB_SUCCEEDED) {
    for (const auto& h : WithStatus(Get(id), v1::HOST_RUNNING)) Report(h.agent_id(), h.job_id(), status);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactBlobs> blobs_;
  std::unique_ptr<ArtifactRepository> artifacts_;
  SessionRegistry sessions_;
  NullSink sink_;
  std::unique_ptr<RolloutEngine> engine_;
  std::map<std::string, uint64_t> seq_;
  // 2026-12-04 12:00 UTC, a Friday.
  absl::Time now_ = absl::FromCivil(absl::CivilMinute(2026, 12, 4, 12, 0), absl::UTCTimeZone());
};

TEST_F(RolloutEngineTest, WavesRunInOrderWithinMaxParallelAndAfterTheGate) {
  AddHosts(10);
  Connect(10);
  v1::DeploymentSpec spec = Spec("1,50%,100%");
  spec.set_max_parallel(2);
  spec.set_health_gate_ms(300'000);
  v1::Deployment d = Create(spec);
  ASSERT_EQ(d.waves_size(), 3);
  EXPECT_EQ(d.waves(0).hosts(), 1u);
  EXPECT_EQ(d.waves(1).hosts(), 4u);
  EXPECT_EQ(d.waves(2).hosts(), 5u);
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_PENDING);

  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_RUNNING);
  auto running = WithStatus(d, v1::HOST_RUNNING);
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].wave(), 0u);
  // The job in the store: an install of the artifact that rolls back on failure.
  v1::Job job = store_->GetJob(running[0].agent_id(), d.id() + "-1").value();
  EXPECT_EQ(job.spec().install_artifact().sha256(), kSha);
  EXPECT_TRUE(job.spec().rollback_on_failure());
  EXPECT_EQ(job.spec().deployment_id(), d.id());
  EXPECT_EQ(job.result().status(), v1::JOB_PENDING);

  Report(running[0].agent_id(), running[0].job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED).size(), 1u);
  EXPECT_EQ(d.waves(0).gate_until_ms(), absl::ToUnixMillis(now_) + 300'000);
  EXPECT_THAT(d.message(), HasSubstr("wave 1 (canary): health gate until"));
  now_ += absl::Minutes(4);
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).current_wave(), 0u);  // still in the gate
  EXPECT_TRUE(WithStatus(Get(d.id()), v1::HOST_RUNNING).empty());
  now_ += absl::Minutes(1);
  engine_->Tick();  // gate over: wave 2 starts
  engine_->Tick();  // and its first jobs go out
  d = Get(d.id());
  EXPECT_EQ(d.current_wave(), 1u);
  EXPECT_EQ(WithStatus(d, v1::HOST_RUNNING).size(), 2u);  // max_parallel
  for (int round = 0; round < 20 && Get(d.id()).state() == v1::DEPLOYMENT_RUNNING; ++round) {
    EXPECT_LE(WithStatus(Get(d.id()), v1::HOST_RUNNING).size(), 2u);
    FinishRunning(d.id());
    now_ += absl::Minutes(3);
    engine_->Tick();
  }
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_SUCCEEDED) << d.message();
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED).size(), 10u);
  for (const auto& h : d.hosts()) {
    EXPECT_EQ(h.old_version(), "1.0");
    EXPECT_EQ(h.new_version(), "2.0");
  }
  // Waves started only after the gate of the one before.
  EXPECT_GE(d.waves(1).started_ms(), d.waves(0).gate_until_ms());
  EXPECT_GE(d.waves(2).started_ms(), d.waves(1).gate_until_ms());
  EXPECT_TRUE(engine_->DeleteArtifactUnlessInUse(kSha, [] { return absl::OkStatus(); }).ok());
}

TEST_F(RolloutEngineTest, AFailedCanaryPausesThenRetryAndResume) {
  AddHosts(4);
  Connect(4);
  v1::Deployment d = Create(Spec("1,100%"));
  engine_->Tick();
  EXPECT_TRUE(absl::IsFailedPrecondition(engine_->DeleteArtifactUnlessInUse(kSha, [] { return absl::OkStatus(); })));
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  Report(canary.agent_id(), canary.job_id(), v1::JOB_ROLLED_BACK);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_PAUSED);
  EXPECT_TRUE(d.paused_on_failure());
  EXPECT_THAT(d.message(), HasSubstr("wave 1 (canary): 1 of 1 hosts failed (threshold 0%)"));
  EXPECT_THAT(d.message(), HasSubstr("postinst failed"));
  EXPECT_EQ(WithStatus(d, v1::HOST_ROLLED_BACK).size(), 1u);
  EXPECT_EQ(WithStatus(d, v1::HOST_PENDING).size(), 3u);
  engine_->Tick();
  EXPECT_TRUE(WithStatus(Get(d.id()), v1::HOST_RUNNING).empty());  // paused: nothing starts

  // Retry: the canary gets a new job (attempt 2).
  auto retried = engine_->Control(d.id(), v1::ControlDeploymentRequest::RETRY, "bob");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state(), v1::DEPLOYMENT_RUNNING);
  engine_->Tick();
  d = Get(d.id());
  auto running = WithStatus(d, v1::HOST_RUNNING);
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].agent_id(), canary.agent_id());
  EXPECT_EQ(running[0].job_id(), d.id() + "-2");
  // It fails again; this time people accept it and resume past the canary.
  Report(canary.agent_id(), d.id() + "-2", v1::JOB_FAILED);
  engine_->Tick();
  ASSERT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_PAUSED);
  auto resumed = engine_->Control(d.id(), v1::ControlDeploymentRequest::RESUME, "bob");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->waves(0).failure_accepted());
  engine_->Tick();  // the canary wave has nothing left: wave 2
  EXPECT_EQ(Get(d.id()).current_wave(), 1u);
  engine_->Tick();
  FinishRunning(d.id());
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_FAILED);  // done, with a failed host
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED).size(), 3u);
  EXPECT_EQ(engine_->Control(d.id(), v1::ControlDeploymentRequest::PAUSE, "bob").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RolloutEngineTest, ThresholdAllowsSomeFailuresAndAbortPolicyEndsRolledBack) {
  AddHosts(8);
  Connect(8);
  v1::DeploymentSpec spec = Spec("50%,100%");
  spec.set_error_threshold_pct(25);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  auto running = WithStatus(Get(d.id()), v1::HOST_RUNNING);
  ASSERT_EQ(running.size(), 4u);
  Report(running[0].agent_id(), running[0].job_id(), v1::JOB_ROLLED_BACK);  // 1 of 4 = 25%: not above
  for (size_t i = 1; i < 4; ++i) Report(running[i].agent_id(), running[i].job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).current_wave(), 1u);

  // Abort policy: the canary fails, nothing else starts, the result is rolled_back.
  v1::DeploymentSpec strict = Spec("1,100%");
  strict.set_on_failure(v1::DeploymentSpec::ABORT);
  v1::Deployment s = Create(strict);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(s.id()), v1::HOST_RUNNING)[0];
  Report(canary.agent_id(), canary.job_id(), v1::JOB_ROLLED_BACK);
  engine_->Tick();
  s = Get(s.id());
  EXPECT_EQ(s.state(), v1::DEPLOYMENT_ROLLED_BACK);
  EXPECT_EQ(WithStatus(s, v1::HOST_SKIPPED).size(), 7u);
  EXPECT_THAT(WithStatus(s, v1::HOST_SKIPPED)[0].message(), HasSubstr("not started: wave 1 (canary) failed"));
}

TEST_F(RolloutEngineTest, AHostTurningUnhealthyInTheGateIsRolledBack) {
  AddHosts(3);
  Connect(3);
  // A check already down before the change does not count against it.
  for (int i = 0; i < 3; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::OK}, {"db", v1::CheckState::DOWN}});
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_health_gate_ms(600'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  EXPECT_THAT(canary.unhealthy_before(), ::testing::ElementsAre("db"));
  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  now_ += absl::Minutes(2);
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).hosts_size(), 3);
  EXPECT_TRUE(WithStatus(Get(d.id()), v1::HOST_FAILED).empty());  // db was down before: fine
  Health(canary.agent_id(), {{"app", v1::CheckState::DEGRADED}, {"db", v1::CheckState::DOWN}});
  engine_->Tick();
  d = Get(d.id());
  auto failed = WithStatus(d, v1::HOST_FAILED);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].message(), HasSubstr("health gate: check app is degraded: connection refused; rolling back"));
  v1::Job rb = store_->GetJob(canary.agent_id(), canary.job_id() + "-rb").value();
  EXPECT_EQ(rb.spec().rollback().of_job_id(), canary.job_id());
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_RUNNING);  // waits for the rollback
  Report(canary.agent_id(), rb.spec().job_id(), v1::JOB_ROLLED_BACK, "2.0", "1.0");
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_PAUSED);
  auto back = WithStatus(d, v1::HOST_ROLLED_BACK);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].new_version(), "2.0");  // what the rollback job reported as now installed
  EXPECT_THAT(back[0].message(), HasSubstr("rolled back to 2.0"));
  EXPECT_TRUE(WithStatus(d, v1::HOST_RUNNING).empty());
}

// A deployment signed by an operator: its statement must name exactly the
// hosts the target resolves to, the change and "may roll back"; the engine
// attaches it to every job, and to the rollback a failed health gate starts,
// which the agent's check accepts as covered by it.
TEST_F(RolloutEngineTest, ASignedDeploymentCarriesItsStatementToEveryJobAndGateRollback) {
  AddHosts(3);
  Connect(3);
  for (int i = 0; i < 3; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::OK}});
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  auto sign = [&](v1::DeploymentSpec spec, std::vector<std::string> agents, bool rollback = true) {
    JobStatement s = StatementForAction(DeploymentChangeJob(spec).value()).value();
    s.agents = std::move(agents);
    s.issued_ms = absl::ToUnixMillis(now_);
    s.expires_ms = s.issued_ms + 24 * 3600 * 1000;
    s.may_roll_back = rollback;
    s.attempts = 3;
    *spec.mutable_authorization() = SignJobStatement(s, key);
    return spec;
  };
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_health_gate_ms(600'000);
  // Stale (a host joined since), for another change, or without rollbacks: refused.
  absl::StatusOr<v1::Deployment> bad = engine_->Create(sign(spec, {"h0", "h1"}), "alice", false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition) << bad.status();
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("resolves to 3 host(s), not the 2"));
  v1::DeploymentSpec other = Spec("1,100%");
  other.set_artifact_sha256(Sha256Hex("demo 3.0"));
  v1::DeploymentSpec swapped = sign(other, {"h0", "h1", "h2"});
  *spec.mutable_authorization() = swapped.authorization();
  bad = engine_->Create(spec, "alice", false);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("is not what was signed"));
  bad = engine_->Create(sign(spec, {"h0", "h1", "h2"}, false), "alice", false);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("does not allow"));
  ASSERT_TRUE(store_->ListDeployments().value().empty());

  const v1::DeploymentSpec signed_spec = sign(spec, {"h0", "h1", "h2"});
  v1::Deployment d = Create(signed_spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  v1::Job job = store_->GetJob(canary.agent_id(), canary.job_id()).value();
  EXPECT_EQ(job.spec().authorization().SerializeAsString(), signed_spec.authorization().SerializeAsString());
  absl::StatusOr<AuthorizedJob> allowed =
      CheckJobAuthorization(job.spec(), canary.agent_id(), {key.public_key()}, absl::ToUnixMillis(now_));
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->use, StatementUse::kChange);

  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  now_ += absl::Minutes(1);
  Health(canary.agent_id(), {{"app", v1::CheckState::DOWN}});
  engine_->Tick();
  v1::Job rb = store_->GetJob(canary.agent_id(), canary.job_id() + "-rb").value();
  EXPECT_EQ(rb.spec().rollback().of_job_id(), canary.job_id());
  EXPECT_EQ(rb.spec().authorization().SerializeAsString(), signed_spec.authorization().SerializeAsString());
  allowed = CheckJobAuthorization(rb.spec(), canary.agent_id(), {key.public_key()}, absl::ToUnixMillis(now_));
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->use, StatementUse::kRollbackOfChange);
}

TEST_F(RolloutEngineTest, WaitsForTheWindowAndFailsHostsPastTheDeadline) {
  AddHosts(2);
  Connect(2);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_window("Sat 01:00-05:00");
  spec.set_deadline_ms(absl::ToUnixMillis(now_ + absl::Hours(24)));
  v1::Deployment d = Create(spec);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_PENDING);
  EXPECT_THAT(d.message(), HasSubstr("waiting for the maintenance window (opens 2026-12-05 01:00 UTC)"));
  EXPECT_TRUE(store_->ListJobs("").value().empty());
  now_ = absl::FromCivil(absl::CivilMinute(2026, 12, 5, 1, 30), absl::UTCTimeZone());
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_RUNNING);
  ASSERT_EQ(WithStatus(d, v1::HOST_RUNNING).size(), 2u);
  // One host reports; the other goes offline before it does and stays
  // away past the deadline.
  const v1::DeploymentHost first = WithStatus(d, v1::HOST_RUNNING)[0];
  const std::string offline = WithStatus(d, v1::HOST_RUNNING)[1].agent_id();
  Disconnect(offline);
  Report(first.agent_id(), first.job_id(), v1::JOB_SUCCEEDED);
  now_ += absl::Hours(11);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_FAILED);  // past the deadline: no pause, nothing could start
  auto failed = WithStatus(d, v1::HOST_FAILED);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].agent_id(), offline);
  EXPECT_THAT(failed[0].message(), HasSubstr("deadline passed"));
  // The job will not reach the host when it comes back.
  EXPECT_TRUE(store_->PendingJobs(offline).value().empty());

  // A deadline before the window first opens: nothing could start.
  spec.set_deadline_ms(absl::ToUnixMillis(now_ + absl::Hours(1)));
  auto late = engine_->Create(spec, "alice", false);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(late.status().message(), HasSubstr("before the maintenance window first opens"));
}

TEST_F(RolloutEngineTest, ARestartResumesWithoutDuplicateJobs) {
  AddHosts(6);
  Connect(6);
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_max_parallel(2);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();  // canary done: wave 2
  // A crash after a job was stored but before the deployment recorded it:
  // the job exists, the deployment still says pending.
  d = Get(d.id());
  const v1::DeploymentHost* next = nullptr;
  for (const auto& h : d.hosts()) {
    if (h.wave() == 1) {
      next = &h;
      break;
    }
  }
  ASSERT_NE(next, nullptr);
  v1::Job early;
  early.set_agent_id(next->agent_id());
  early.mutable_spec()->set_job_id(d.id() + "-1");
  early.mutable_spec()->set_deployment_id(d.id());
  early.mutable_spec()->mutable_install_artifact()->set_sha256(kSha);
  early.mutable_result()->set_status(v1::JOB_PENDING);
  ASSERT_TRUE(store_->CreateJob(early).ok());
  OpenStore();  // the collector restarts: new store handle, new engine
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(WithStatus(d, v1::HOST_RUNNING).size(), 2u);
  EXPECT_EQ(store_->ListJobs("").value().size(), 3u);  // canary's, the early one, one more
  for (int round = 0; round < 10 && Get(d.id()).state() == v1::DEPLOYMENT_RUNNING; ++round) {
    FinishRunning(d.id());
    engine_->Tick();
  }
  EXPECT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_SUCCEEDED);
  EXPECT_EQ(store_->ListJobs("").value().size(), 6u);  // one job per host, none twice
}

TEST_F(RolloutEngineTest, AbortSkipsPendingHostsAndWithdrawsUndeliveredJobs) {
  AddHosts(3);
  Connect(3);
  v1::Deployment d = Create(Spec("2,100%"));
  engine_->Tick();
  auto aborted = engine_->Control(d.id(), v1::ControlDeploymentRequest::ABORT, "carol");
  ASSERT_TRUE(aborted.ok()) << aborted.status();
  EXPECT_EQ(aborted->state(), v1::DEPLOYMENT_ABORTED);
  EXPECT_EQ(WithStatus(*aborted, v1::HOST_SKIPPED).size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(store_->PendingJobs(absl::StrCat("h", i)).value().empty());
  EXPECT_EQ(engine_->Control(d.id(), v1::ControlDeploymentRequest::RETRY, "carol").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(engine_->DeleteArtifactUnlessInUse(kSha, [] { return absl::OkStatus(); }).ok());
}

TEST_F(RolloutEngineTest, BadSpecsAreRefusedAndADryRunStoresNothing) {
  AddHosts(2);
  struct Case {
    std::function<void(v1::DeploymentSpec*)> edit;
    absl::StatusCode code;
    std::string says;
  };
  const Case cases[] = {
      {[](auto* s) { s->set_artifact_sha256("abc"); }, absl::StatusCode::kInvalidArgument, "is not a SHA-256"},
      {[](auto* s) { s->set_artifact_sha256(std::string(64, 'e')); }, absl::StatusCode::kNotFound, ""},
      {[](auto* s) { s->clear_artifact_sha256(); }, absl::StatusCode::kInvalidArgument, "needs a change"},
      {[](auto* s) { s->set_apt_package("Demo=1"); }, absl::StatusCode::kInvalidArgument, "must be NAME=VERSION"},
      {[](auto* s) { s->set_apt_package("demo="); }, absl::StatusCode::kInvalidArgument, "must be NAME=VERSION"},
      {[](auto* s) { s->set_apt_package("demo=1.0;rm"); }, absl::StatusCode::kInvalidArgument, "must be NAME=VERSION"},
      {[](auto* s) { s->set_target("label:role=web and ("); }, absl::StatusCode::kInvalidArgument, "target: "},
      {[](auto* s) { s->set_target("label:role=db"); }, absl::StatusCode::kFailedPrecondition, "matches no host"},
      {[](auto* s) { s->clear_waves(); s->add_waves("10%,5%"); }, absl::StatusCode::kInvalidArgument, "larger"},
      {[](auto* s) { s->set_window("Sat 9-5"); }, absl::StatusCode::kInvalidArgument, "window 'Sat 9-5'"},
      {[](auto* s) { s->set_error_threshold_pct(150); }, absl::StatusCode::kInvalidArgument, "0 to 100"},
      {[](auto* s) { s->set_health_gate_ms(-1); }, absl::StatusCode::kInvalidArgument, "health gate"},
      {[](auto* s) { s->set_deadline_ms(1000); }, absl::StatusCode::kInvalidArgument, "deadline has passed"},
  };
  for (const Case& c : cases) {
    v1::DeploymentSpec spec = Spec();
    c.edit(&spec);
    auto d = engine_->Create(spec, "alice", false);
    ASSERT_FALSE(d.ok()) << c.says;
    EXPECT_EQ(d.status().code(), c.code) << d.status();
    EXPECT_THAT(std::string(d.status().message()), HasSubstr(c.says));
  }
  auto plan = engine_->Create(Spec("1,100%"), "alice", true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->hosts_size(), 2);
  EXPECT_EQ(plan->waves_size(), 2);
  EXPECT_TRUE(store_->ListDeployments().value().empty());
  EXPECT_EQ(store_->GetDeployment("d-00000000").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RolloutEngineTest, APackageFromTheRepositoriesBecomesAptJobs) {
  AddHosts(2);
  Connect(2);
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_apt_package("openssl=3.0.15-1~deb12u1");
  v1::Deployment d = Create(spec);
  EXPECT_EQ(d.package(), "openssl");
  EXPECT_EQ(d.version(), "3.0.15-1~deb12u1");
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  v1::Job job = store_->GetJob(canary.agent_id(), canary.job_id()).value();
  EXPECT_EQ(job.spec().apt_package().name(), "openssl");
  EXPECT_EQ(job.spec().apt_package().version(), "3.0.15-1~deb12u1");
  EXPECT_FALSE(job.spec().apt_package().remove());
  EXPECT_TRUE(job.spec().rollback_on_failure());
  EXPECT_TRUE(engine_->DeleteArtifactUnlessInUse(kSha, [] { return absl::OkStatus(); }).ok());
}

// `--package NAME` without a version: the later waves install the version
// the canary got, not whatever is newest when their turn comes.
TEST_F(RolloutEngineTest, APackageWithoutAVersionIsPinnedByTheCanary) {
  AddHosts(3);
  Connect(3);
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_apt_package("openssl");
  v1::Deployment d = Create(spec);
  EXPECT_EQ(d.version(), "");
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  EXPECT_EQ(store_->GetJob(canary.agent_id(), canary.job_id()).value().spec().apt_package().version(), "");
  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED, "3.0.11", "3.0.15");
  engine_->Tick();
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.version(), "3.0.15");
  auto running = WithStatus(d, v1::HOST_RUNNING);
  ASSERT_EQ(running.size(), 2u);
  for (const auto& h : running) {
    EXPECT_EQ(store_->GetJob(h.agent_id(), h.job_id()).value().spec().apt_package().version(), "3.0.15");
  }
}

TEST_F(RolloutEngineTest, RetryAfterAnAbortedWaveRunsTheHostsItSkipped) {
  AddHosts(4);
  Connect(4);
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_on_failure(v1::DeploymentSpec::ABORT);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  Report(canary.agent_id(), canary.job_id(), v1::JOB_ROLLED_BACK);
  engine_->Tick();
  ASSERT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_ROLLED_BACK);
  ASSERT_TRUE(engine_->Control(d.id(), v1::ControlDeploymentRequest::RETRY, "bob").ok());
  for (int round = 0; round < 6 && Get(d.id()).state() == v1::DEPLOYMENT_RUNNING; ++round) {
    engine_->Tick();
    FinishRunning(d.id());
  }
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_SUCCEEDED) << d.message();
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED).size(), 4u);  // not just the canary
}

TEST_F(RolloutEngineTest, ResumeAfterAFailedWaveRunsItsRemainingHosts) {
  AddHosts(5);
  Connect(5);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_max_parallel(1);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  v1::DeploymentHost first = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  Report(first.agent_id(), first.job_id(), v1::JOB_FAILED);
  engine_->Tick();
  ASSERT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_PAUSED);
  EXPECT_EQ(WithStatus(Get(d.id()), v1::HOST_PENDING).size(), 4u);
  ASSERT_TRUE(engine_->Control(d.id(), v1::ControlDeploymentRequest::RESUME, "bob").ok());
  for (int round = 0; round < 10 && Get(d.id()).state() == v1::DEPLOYMENT_RUNNING; ++round) {
    engine_->Tick();
    FinishRunning(d.id());
  }
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_FAILED);  // one host failed; nobody left behind
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED).size(), 4u);
  EXPECT_TRUE(WithStatus(d, v1::HOST_PENDING).empty());
}

TEST_F(RolloutEngineTest, TheGateNeedsFreshReportsAndFailsAHostOfflineAtItsEnd) {
  AddHosts(2);
  Connect(2);
  for (int i = 0; i < 2; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::OK}});
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_health_gate_ms(60'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  now_ += absl::Seconds(5);
  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  now_ += absl::Minutes(2);
  engine_->Tick();  // gate over, but "app" has not run since the change
  d = Get(d.id());
  EXPECT_EQ(d.current_wave(), 0u);
  EXPECT_THAT(d.message(), HasSubstr("waiting for fresh health reports from 1 host"));
  Health(canary.agent_id(), {{"app", v1::CheckState::OK}});
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).current_wave(), 1u);

  // Wave 2: its host goes offline after the change and stays away.
  engine_->Tick();
  const v1::DeploymentHost second = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  Report(second.agent_id(), second.job_id(), v1::JOB_SUCCEEDED);
  Disconnect(second.agent_id());
  engine_->Tick();
  now_ += absl::Minutes(2);
  engine_->Tick();
  d = Get(d.id());
  auto failed = WithStatus(d, v1::HOST_FAILED);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].message(), HasSubstr("stopped reporting after the change"));
  EXPECT_TRUE(store_->GetJob(second.agent_id(), second.job_id() + "-rb").ok());
  engine_->Tick();  // its rollback waits for it; the wave does not
  EXPECT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_PAUSED);
}

TEST_F(RolloutEngineTest, JobsStoredBeforeARestartAreAdopted) {
  AddHosts(3);
  Connect(3);
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_health_gate_ms(600'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  // A gate rollback stored and sent, then a crash before the deployment
  // recorded it; the rollback already made the checks healthy again.
  v1::Job rb;
  rb.set_agent_id(canary.agent_id());
  rb.mutable_spec()->set_job_id(canary.job_id() + "-rb");
  rb.mutable_spec()->mutable_rollback()->set_of_job_id(canary.job_id());
  rb.mutable_result()->set_status(v1::JOB_PENDING);
  ASSERT_TRUE(store_->CreateJob(rb).ok());
  OpenStore();
  now_ += absl::Minutes(11);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.current_wave(), 0u);  // not passed
  EXPECT_EQ(WithStatus(d, v1::HOST_FAILED).size(), 1u);
  Report(canary.agent_id(), rb.spec().job_id(), v1::JOB_ROLLED_BACK, "2.0", "1.0");
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_PAUSED);
  EXPECT_EQ(WithStatus(Get(d.id()), v1::HOST_ROLLED_BACK).size(), 1u);

  // A pending host whose job was stored before a crash: abort treats it as
  // started (connected hosts finish; the job is not left behind unseen).
  d = Get(d.id());
  const v1::DeploymentHost* pending = nullptr;
  for (const auto& h : d.hosts()) {
    if (h.status() == v1::HOST_PENDING) pending = &h;
  }
  ASSERT_NE(pending, nullptr);
  v1::Job early;
  early.set_agent_id(pending->agent_id());
  early.mutable_spec()->set_job_id(d.id() + "-1");
  early.mutable_spec()->set_deployment_id(d.id());
  early.mutable_spec()->mutable_install_artifact()->set_sha256(kSha);
  early.mutable_result()->set_status(v1::JOB_PENDING);
  ASSERT_TRUE(store_->CreateJob(early).ok());
  Disconnect(pending->agent_id());
  auto aborted = engine_->Control(d.id(), v1::ControlDeploymentRequest::ABORT, "carol");
  ASSERT_TRUE(aborted.ok()) << aborted.status();
  EXPECT_TRUE(store_->PendingJobs(pending->agent_id()).value().empty());  // withdrawn, offline
  for (const auto& h : aborted->hosts()) {
    if (h.agent_id() == pending->agent_id()) {
      EXPECT_TRUE(h.withdrawn());
    }
  }
}

TEST_F(RolloutEngineTest, TheDeadlineLeavesConnectedHostsRunningAndTakesLateResults) {
  AddHosts(2);
  Connect(2);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_deadline_ms(absl::ToUnixMillis(now_ + absl::Hours(1)));
  v1::Deployment d = Create(spec);
  engine_->Tick();
  Disconnect("h1");  // with its job, before it reports
  now_ += absl::Hours(2);
  engine_->Tick();
  d = Get(d.id());
  ASSERT_EQ(WithStatus(d, v1::HOST_RUNNING).size(), 1u);  // h0, connected, still running
  EXPECT_EQ(WithStatus(d, v1::HOST_RUNNING)[0].agent_id(), "h0");
  ASSERT_EQ(WithStatus(d, v1::HOST_FAILED).size(), 1u);
  EXPECT_TRUE(WithStatus(d, v1::HOST_FAILED)[0].withdrawn());
  Report("h0", d.id() + "-1", v1::JOB_SUCCEEDED);
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_FAILED);  // h1 failed the only wave, past the deadline
  // h1 ran the job after all and reports it late: it counts.
  sessions_.Opened("h1", &sink_, {});
  Report("h1", d.id() + "-1", v1::JOB_SUCCEEDED);
  engine_->Tick();
  EXPECT_EQ(WithStatus(Get(d.id()), v1::HOST_SUCCEEDED).size(), 2u);
}

TEST_F(RolloutEngineTest, AnUnreadableDeploymentDoesNotStopTheOthers) {
  AddHosts(1);
  Connect(1);
  v1::Deployment d = Create(Spec("100%"));
  ASSERT_TRUE(store_->PutDeployment([] {
    v1::Deployment bad;
    bad.set_id("d-00000000");
    return bad;
  }()).ok());  // no waves, no hosts: cannot be advanced
  engine_->Tick();
  engine_->Tick();
  EXPECT_EQ(WithStatus(Get(d.id()), v1::HOST_RUNNING).size(), 1u);
}

// --- The defects of issue 17, one test each (each failed before its fix) ---

// The service was down while the package's scripts restarted it; that
// report is older than the job's result and says nothing about the change.
TEST_F(RolloutEngineTest, AStaleUnhealthyReportDoesNotFailTheGate) {
  AddHosts(2);
  Connect(2);
  for (int i = 0; i < 2; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::OK}});
  v1::DeploymentSpec spec = Spec("1,100%");
  spec.set_health_gate_ms(60'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const v1::DeploymentHost canary = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0];
  now_ += absl::Seconds(3);
  Health(canary.agent_id(), {{"app", v1::CheckState::DOWN}});  // during the postinst's restart
  now_ += absl::Seconds(3);
  Report(canary.agent_id(), canary.job_id(), v1::JOB_SUCCEEDED);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_TRUE(WithStatus(d, v1::HOST_FAILED).empty()) << WithStatus(d, v1::HOST_FAILED)[0].message();
  EXPECT_FALSE(store_->GetJob(canary.agent_id(), canary.job_id() + "-rb").ok());
  now_ += absl::Seconds(10);
  Health(canary.agent_id(), {{"app", v1::CheckState::OK}});
  now_ += absl::Minutes(1);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.current_wave(), 1u);
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED)[0].gate(), "passed");
}

// A gate asks its hosts for a report at once and to watch their checks for
// the gate's length, and asks again (at most every 10 s) while a host has
// no report newer than its job.
TEST_F(RolloutEngineTest, AGateAsksItsHostsForHealthReports) {
  AddHosts(1);
  RecordingSink sink;
  sessions_.Opened("h0", &sink, {});
  Health("h0", {{"app", v1::CheckState::OK}});
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_health_gate_ms(60'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  now_ += absl::Seconds(1);
  Report("h0", d.id() + "-1", v1::JOB_SUCCEEDED);
  engine_->Tick();  // the gate starts
  ASSERT_EQ(sink.health_requests.size(), 1u);
  EXPECT_EQ(sink.health_requests[0].watch_ms(), 60'000);
  EXPECT_THAT(sink.health_requests[0].reason(), HasSubstr(d.id()));
  now_ += absl::Seconds(2);
  engine_->Tick();
  EXPECT_EQ(sink.health_requests.size(), 1u);  // asked 2 s ago
  now_ += absl::Seconds(10);
  engine_->Tick();
  EXPECT_EQ(sink.health_requests.size(), 2u);  // still nothing newer than the job
  Health("h0", {{"app", v1::CheckState::OK}});
  now_ += absl::Seconds(15);
  engine_->Tick();
  EXPECT_EQ(sink.health_requests.size(), 2u);  // fresh now
}

// A crash after the job was stored and before the deployment recorded it:
// the snapshot of what was unhealthy before is the job's, not one taken
// again after the job broke the application.
TEST_F(RolloutEngineTest, TheUnhealthyBeforeSnapshotSurvivesACrashAfterTheJobWasCreated) {
  AddHosts(1);
  Connect(1);
  Health("h0", {{"app", v1::CheckState::OK}});
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_health_gate_ms(60'000);
  v1::Deployment d = Create(spec);
  const v1::Deployment before = Get(d.id());
  engine_->Tick();
  ASSERT_TRUE(store_->GetJob("h0", d.id() + "-1").ok());
  ASSERT_TRUE(store_->PutDeployment(before).ok());  // the deployment's step never reached the disk
  OpenStore();
  Connect(1);
  now_ += absl::Seconds(5);
  Health("h0", {{"app", v1::CheckState::DOWN}});  // the job broke it
  Report("h0", d.id() + "-1", v1::JOB_SUCCEEDED);
  now_ += absl::Seconds(1);
  Health("h0", {{"app", v1::CheckState::DOWN}});
  engine_->Tick();  // adopts the job
  engine_->Tick();
  d = Get(d.id());
  ASSERT_EQ(WithStatus(d, v1::HOST_FAILED).size(), 1u);
  EXPECT_THAT(WithStatus(d, v1::HOST_FAILED)[0].message(), HasSubstr("check app is down"));
  EXPECT_TRUE(store_->GetJob("h0", d.id() + "-1-rb").ok());
}

// Gate failed, rollback failed, retry: the new job finds the host at the
// version already (skipped). It is gated like a changed host.
TEST_F(RolloutEngineTest, ASkippedHostIsGatedAndARetryKeepsTheFirstSnapshot) {
  AddHosts(1);
  Connect(1);
  Health("h0", {{"app", v1::CheckState::OK}});
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_health_gate_ms(60'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  Report("h0", d.id() + "-1", v1::JOB_SUCCEEDED);
  now_ += absl::Seconds(1);
  Health("h0", {{"app", v1::CheckState::DOWN}});
  engine_->Tick();  // gate fails: rollback
  Report("h0", d.id() + "-1-rb", v1::JOB_FAILED, "2.0", "2.0");
  engine_->Tick();
  d = Get(d.id());
  ASSERT_EQ(d.state(), v1::DEPLOYMENT_PAUSED) << d.message();
  ASSERT_TRUE(engine_->Control(d.id(), v1::ControlDeploymentRequest::RETRY, "alice").ok());
  engine_->Tick();
  d = Get(d.id());
  EXPECT_THAT(WithStatus(d, v1::HOST_RUNNING)[0].unhealthy_before(), ::testing::IsEmpty());
  now_ += absl::Seconds(1);
  Report("h0", d.id() + "-2", v1::JOB_SKIPPED, "2.0", "2.0");
  now_ += absl::Seconds(1);
  Health("h0", {{"app", v1::CheckState::DOWN}});
  for (int i = 0; i < 3; ++i) {
    now_ += absl::Minutes(1);
    engine_->Tick();
  }
  d = Get(d.id());
  EXPECT_NE(d.state(), v1::DEPLOYMENT_SUCCEEDED);
  ASSERT_EQ(WithStatus(d, v1::HOST_FAILED).size(), 1u);
  EXPECT_THAT(WithStatus(d, v1::HOST_FAILED)[0].gate(), HasSubstr("failed: check app is down"));
}

// The withdrawal is in the job record: a crash before the deployment
// recorded it does not turn it into the host's result.
TEST_F(RolloutEngineTest, ALateResultCountsAfterACrashThatFollowedTheWithdrawal) {
  AddHosts(1);
  Connect(1);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_deadline_ms(absl::ToUnixMillis(now_ + absl::Hours(1)));
  v1::Deployment d = Create(spec);
  engine_->Tick();
  Disconnect("h0");
  now_ += absl::Hours(2);
  const v1::Deployment before = Get(d.id());
  engine_->Tick();  // withdraws
  ASSERT_TRUE(store_->GetJob("h0", d.id() + "-1").value().withdrawn());
  ASSERT_TRUE(store_->PutDeployment(before).ok());  // the step's record lost
  OpenStore();
  engine_->Tick();
  d = Get(d.id());
  ASSERT_EQ(d.hosts(0).status(), v1::HOST_FAILED);
  EXPECT_TRUE(d.hosts(0).withdrawn());
  sessions_.Opened("h0", &sink_, {});
  Report("h0", d.id() + "-1", v1::JOB_SUCCEEDED);  // it had run the job
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.hosts(0).status(), v1::HOST_SUCCEEDED);
  EXPECT_FALSE(d.hosts(0).withdrawn());
}

TEST_F(RolloutEngineTest, OfflineHostsHoldNoSlots) {
  AddHosts(6);
  Connect(6);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_max_parallel(2);
  v1::Deployment d = Create(spec);
  // The first two hosts in the rollout's order are offline.
  Disconnect(d.hosts(0).agent_id());
  Disconnect(d.hosts(1).agent_id());
  engine_->Tick();
  d = Get(d.id());
  auto running = WithStatus(d, v1::HOST_RUNNING);
  ASSERT_EQ(running.size(), 2u);
  for (const auto& h : running) EXPECT_NE(h.agent_id(), d.hosts(0).agent_id());
  // A host that goes offline with its job frees its slot.
  Disconnect(running[0].agent_id());
  engine_->Tick();
  EXPECT_EQ(WithStatus(Get(d.id()), v1::HOST_RUNNING).size(), 3u);
  sessions_.Opened(running[0].agent_id(), &sink_, {});
  for (int round = 0; round < 2; ++round) {
    FinishRunning(d.id());
    engine_->Tick();
  }
  d = Get(d.id());
  EXPECT_EQ(WithStatus(d, v1::HOST_SUCCEEDED).size(), 4u);
  EXPECT_EQ(WithStatus(d, v1::HOST_PENDING).size(), 2u);
  EXPECT_THAT(d.message(), HasSubstr("waiting for 2 hosts to connect"));
  EXPECT_TRUE(store_->PendingJobs(d.hosts(0).agent_id()).value().empty());  // nothing waits for it
}

// Policy abort: one host's gate rollback failed, so it is still changed:
// FAILED, not ROLLED_BACK; an offline host's rollback that completes late
// makes it ROLLED_BACK.
TEST_F(RolloutEngineTest, AStoppedDeploymentIsRolledBackOnlyWhenEveryHostIs) {
  AddHosts(2);
  Connect(2);
  for (int i = 0; i < 2; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::OK}});
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_health_gate_ms(60'000);
  spec.set_on_failure(v1::DeploymentSpec::ABORT);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  FinishRunning(d.id());
  now_ += absl::Seconds(1);
  for (int i = 0; i < 2; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::DOWN}});
  engine_->Tick();  // both fail the gate
  Report("h0", d.id() + "-1-rb", v1::JOB_FAILED, "2.0", "2.0");
  Disconnect("h1");  // its rollback waits for it
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_FAILED) << d.message();
  // Retry h0 by hand is not this test; h1 comes back and rolls back, h0
  // stays changed: still FAILED.
  sessions_.Opened("h1", &sink_, {});
  Report("h1", d.id() + "-1-rb", v1::JOB_ROLLED_BACK, "1.0");
  engine_->Tick();
  EXPECT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_FAILED);

  // The same with both rollbacks succeeding, one late: ROLLED_BACK then.
  for (int i = 0; i < 2; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::OK}});
  v1::Deployment e = Create(spec);
  engine_->Tick();
  FinishRunning(e.id());
  now_ += absl::Seconds(1);
  for (int i = 0; i < 2; ++i) Health(absl::StrCat("h", i), {{"app", v1::CheckState::DOWN}});
  engine_->Tick();
  Report("h0", e.id() + "-1-rb", v1::JOB_ROLLED_BACK, "1.0");  // back at 1.0
  Disconnect("h1");
  engine_->Tick();
  EXPECT_EQ(Get(e.id()).state(), v1::DEPLOYMENT_FAILED);  // h1 not known yet
  sessions_.Opened("h1", &sink_, {});
  Report("h1", e.id() + "-1-rb", v1::JOB_ROLLED_BACK, "1.0");
  engine_->Tick();
  EXPECT_EQ(Get(e.id()).state(), v1::DEPLOYMENT_ROLLED_BACK);
}

TEST_F(RolloutEngineTest, AHostWithoutChecksSaysSoAndCanBeRequiredToHaveThem) {
  AddHosts(1);
  Connect(1);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_health_gate_ms(60'000);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  FinishRunning(d.id());
  engine_->Tick();
  now_ += absl::Minutes(2);
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.state(), v1::DEPLOYMENT_SUCCEEDED);
  EXPECT_EQ(d.hosts(0).gate(), "passed: no checks to judge");

  spec.set_require_checks(true);
  v1::Deployment r = Create(spec);
  engine_->Tick();
  Report("h0", r.id() + "-1", v1::JOB_SUCCEEDED, "2.0", "3.0");
  engine_->Tick();
  now_ += absl::Minutes(2);
  engine_->Tick();
  r = Get(r.id());
  ASSERT_EQ(WithStatus(r, v1::HOST_FAILED).size(), 1u);
  EXPECT_THAT(r.hosts(0).message(), HasSubstr("no health checks and the deployment requires them"));
}

// Abort withdraws every unstarted job: a connected host gets a cancel, and
// the job is not sent again on a reconnect (a cancel is, until the agent
// answers it).
TEST_F(RolloutEngineTest, AbortCancelsAConnectedHostsJob) {
  AddHosts(1);
  RecordingSink sink;
  sessions_.Opened("h0", &sink, {});
  v1::Deployment d = Create(Spec("100%"));
  engine_->Tick();
  ASSERT_EQ(sink.jobs, std::vector<std::string>{d.id() + "-1"});
  ASSERT_TRUE(engine_->Control(d.id(), v1::ControlDeploymentRequest::ABORT, "carol").ok());
  EXPECT_EQ(sink.cancels, std::vector<std::string>{d.id() + "-1"});
  Store::JobsToSend open = store_->OpenJobs("h0").value();
  EXPECT_TRUE(open.pending.empty());
  ASSERT_EQ(open.cancels.size(), 1u);
  EXPECT_THAT(open.cancels[0].reason(), HasSubstr("aborted"));
  // The agent answers: it had not started it.
  v1::Envelope env;
  env.set_seq(++seq_["h0"]);
  v1::JobResult* r = env.mutable_job_result();
  r->set_job_id(d.id() + "-1");
  r->set_status(v1::JOB_SKIPPED);
  r->set_cancelled(true);
  r->set_message("cancelled before it started");
  ASSERT_TRUE(store_->ApplyEnvelope("h0", env, absl::ToUnixMillis(now_)).ok());
  EXPECT_TRUE(store_->OpenJobs("h0").value().cancels.empty());
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.hosts(0).status(), v1::HOST_SKIPPED);
  EXPECT_FALSE(d.hosts(0).withdrawn());
}

// An abort whose withdrawals a crash interrupted: Tick finishes them.
TEST_F(RolloutEngineTest, AnAbortInterruptedByACrashIsCompletedByTick) {
  AddHosts(2);
  Connect(2);
  v1::Deployment d = Create(Spec("100%"));
  engine_->Tick();
  d = Get(d.id());
  d.set_state(v1::DEPLOYMENT_ABORTED);  // stored first; the crash came before the withdrawals
  ASSERT_TRUE(store_->PutDeployment(d).ok());
  OpenStore();
  engine_->Tick();
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(store_->PendingJobs(absl::StrCat("h", i)).value().empty());
  d = Get(d.id());
  EXPECT_EQ(WithStatus(d, v1::HOST_SKIPPED).size(), 2u);
}

// A job someone made by hand with the form of a deployment's job id is
// not taken for the deployment's own.
TEST_F(RolloutEngineTest, AJobMadeByHandIsNotAdopted) {
  AddHosts(1);
  Connect(1);
  v1::DeploymentSpec spec = Spec("100%");
  // Made, and a job planted under its first attempt's id before the first tick.
  v1::Deployment d = Create(spec);
  v1::Job planted;
  planted.set_agent_id("h0");
  planted.mutable_spec()->set_job_id(d.id() + "-1");
  planted.mutable_spec()->mutable_run_script()->add_argv("/bin/true");
  planted.mutable_result()->set_status(v1::JOB_PENDING);
  ASSERT_TRUE(store_->CreateJob(planted).ok());
  engine_->Tick();
  d = Get(d.id());
  EXPECT_EQ(d.hosts(0).status(), v1::HOST_FAILED);
  EXPECT_THAT(d.hosts(0).message(), HasSubstr("not this deployment's"));
}

// artifact rm and create cannot cross: whatever their order, no unfinished
// deployment names an artifact that is gone.
TEST_F(RolloutEngineTest, RemovingAnArtifactCannotCrossCreatingADeployment) {
  AddHosts(1);
  Connect(1);
  std::atomic<bool> stop{false};
  std::thread remover([&] {
    while (!stop) {
      (void)engine_->DeleteArtifactUnlessInUse(kSha, [&] { return store_->DeleteArtifact(kSha); });
      v1::Artifact a;
      a.set_sha256(kSha);
      a.set_name("demo");
      a.set_version("2.0");
      (void)store_->PutArtifact(a);
    }
  });
  for (int i = 0; i < 200; ++i) {
    auto d = engine_->Create(Spec("100%"), "alice", false);
    if (!d.ok()) continue;
    // Finish it so the next create is judged alone.
    ASSERT_TRUE(engine_->Control(d->id(), v1::ControlDeploymentRequest::ABORT, "alice").ok());
  }
  stop = true;
  remover.join();
  for (const v1::Deployment& d : store_->ListDeployments().value()) EXPECT_EQ(d.state(), v1::DEPLOYMENT_ABORTED);
}

TEST_F(RolloutEngineTest, ADeploymentWithoutAPlanGetsTheSafeDefaults) {
  AddHosts(30);
  Connect(30);
  v1::DeploymentSpec spec;
  spec.set_artifact_sha256(kSha);
  spec.set_target("label:role=web");
  v1::Deployment d = Create(spec);
  EXPECT_THAT(d.spec().waves(), ::testing::ElementsAre("1", "10%", "100%"));
  EXPECT_EQ(d.spec().health_gate_ms(), 300'000);
  EXPECT_EQ(d.spec().max_parallel(), 10u);
  ASSERT_EQ(d.waves_size(), 3);
  EXPECT_EQ(d.waves(0).hosts(), 1u);
  EXPECT_EQ(d.waves(1).hosts(), 2u);  // 10% of 30 is 3, the canary counted
  EXPECT_EQ(d.waves(2).hosts(), 27u);
  // "All at once" is said explicitly, and so is "no gate".
  spec.add_waves("100%");
  spec.set_health_gate_ms(0);
  spec.set_max_parallel(0);
  d = Create(spec);
  EXPECT_EQ(d.waves_size(), 1);
  EXPECT_EQ(d.spec().health_gate_ms(), 0);
  EXPECT_EQ(d.spec().max_parallel(), 0u);
}

// A session after its Welcome reads the open jobs from an index: a past
// job's record, even one that no longer parses, is not read.
TEST_F(RolloutEngineTest, OpenJobsReadOnlyTheJobsStillToSend) {
  AddHosts(1);
  for (int i = 0; i < 50; ++i) {
    v1::Job done;
    done.set_agent_id("h0");
    done.mutable_spec()->set_job_id(absl::StrCat("job-", i));
    done.mutable_result()->set_status(v1::JOB_SUCCEEDED);
    ASSERT_TRUE(store_->PutJob(done).ok());
  }
  v1::Job open;
  open.set_agent_id("h0");
  open.mutable_spec()->set_job_id("job-open");
  open.mutable_result()->set_status(v1::JOB_PENDING);
  ASSERT_TRUE(store_->CreateJob(open).ok());
  Store::JobsToSend to_send = store_->OpenJobs("h0").value();
  ASSERT_EQ(to_send.pending.size(), 1u);
  EXPECT_EQ(to_send.pending[0].job_id(), "job-open");
  // The index survives a restart, and a data directory from before it gets
  // one built at open.
  OpenStore();
  EXPECT_EQ(store_->OpenJobs("h0").value().pending.size(), 1u);
}

// Finished jobs older than the retention go (hourly); pending, withdrawn
// and unfinished deployments' jobs stay.
TEST_F(RolloutEngineTest, OldFinishedJobsArePruned) {
  AddHosts(2);
  Connect(2);
  v1::Deployment d = Create(Spec("100%"));
  engine_->Tick();  // h0 and h1 get their jobs (unfinished deployment)
  auto job = [&](const std::string& id, v1::JobStatus status, absl::Time finished) {
    v1::Job j;
    j.set_agent_id("h0");
    j.mutable_spec()->set_job_id(id);
    j.set_created_ms(absl::ToUnixMillis(finished - absl::Minutes(1)));
    j.mutable_result()->set_status(status);
    j.mutable_result()->set_finished_ms(status == v1::JOB_PENDING ? 0 : absl::ToUnixMillis(finished));
    ASSERT_TRUE(store_->PutJob(j).ok());
  };
  job("old", v1::JOB_SUCCEEDED, now_ - absl::Hours(24 * 100));
  job("recent", v1::JOB_FAILED, now_ - absl::Hours(24 * 10));
  job("old-pending", v1::JOB_PENDING, now_ - absl::Hours(24 * 100));
  // The deployment's own job, finished long ago by its clock: kept while
  // the deployment has not finished.
  Report("h0", d.id() + "-1", v1::JOB_SUCCEEDED);
  v1::Job mine = store_->GetJob("h0", d.id() + "-1").value();
  mine.mutable_result()->set_finished_ms(absl::ToUnixMillis(now_ - absl::Hours(24 * 100)));
  ASSERT_TRUE(store_->PutJob(mine).ok());
  EXPECT_EQ(engine_->PruneJobs().value(), 1u);
  EXPECT_FALSE(store_->GetJob("h0", "old").ok());
  EXPECT_TRUE(store_->GetJob("h0", "recent").ok());
  EXPECT_TRUE(store_->GetJob("h0", "old-pending").ok());
  EXPECT_TRUE(store_->GetJob("h0", d.id() + "-1").ok());
}

// A retried host the rollout stopped before its new job is "never
// started" again: the next retry runs it (found by the simulation, seed
// 1000429: it stayed skipped and the deployment ended succeeded without it).
TEST_F(RolloutEngineTest, ARetriedHostStoppedBeforeItsTurnIsRetriedAgain) {
  AddHosts(2);
  Connect(2);
  v1::DeploymentSpec spec = Spec("100%");
  spec.set_max_parallel(1);
  spec.set_on_failure(v1::DeploymentSpec::ABORT);
  v1::Deployment d = Create(spec);
  engine_->Tick();
  const std::string x = WithStatus(Get(d.id()), v1::HOST_RUNNING)[0].agent_id();
  const std::string y = x == "h0" ? "h1" : "h0";
  Report(x, d.id() + "-1", v1::JOB_FAILED);
  engine_->Tick();
  ASSERT_EQ(Get(d.id()).state(), v1::DEPLOYMENT_FAILED);
  ASSERT_TRUE(engine_->Control(d.id(), v1::ControlDeploymentRequest::RETRY, "alice").ok());
  Disconnect(x);  // x waits for its new job; y runs and fails
  engine_->Tick();
  Report(y, d.id() + "-1", v1::JOB_FAILED);
  engine_->Tick();
  d = Get(d.id());
  ASSERT_EQ(d.state(), v1::DEPLOYMENT_FAILED);
  ASSERT_EQ(WithStatus(d, v1::HOST_SKIPPED).size(), 1u);
  ASSERT_TRUE(engine_->Control(d.id(), v1::ControlDeploymentRequest::RETRY, "alice").ok());
  EXPECT_EQ(WithStatus(Get(d.id()), v1::HOST_PENDING).size(), 2u);
}

// A dry run says which hosts a failed gate could not roll back: their
// version of the package was not installed by Steward (nothing kept).
TEST_F(RolloutEngineTest, ADryRunWarnsWhereNoRollbackWouldBePossible) {
  AddHosts(3);
  auto inventory = [&](const std::string& agent, const std::string& version) {
    v1::Envelope env;
    env.set_seq(++seq_[agent]);
    v1::SoftwareItem* item = env.mutable_inventory_snapshot()->add_items();
    item->set_source("dpkg");
    item->set_name("demo");
    item->set_version(version);
    ASSERT_TRUE(store_->ApplyEnvelope(agent, env, absl::ToUnixMillis(now_)).ok());
  };
  inventory("h0", "1.0");  // installed by hand
  inventory("h1", "1.0");  // installed by a Steward job
  v1::Job earlier;
  earlier.set_agent_id("h1");
  earlier.mutable_spec()->set_job_id("job-1");
  earlier.mutable_result()->set_status(v1::JOB_SUCCEEDED);
  earlier.mutable_result()->set_package("demo");
  earlier.mutable_result()->set_new_version("1.0");
  ASSERT_TRUE(store_->PutJob(earlier).ok());
  // h2 does not have it: a rollback removes it.
  v1::Deployment plan = engine_->Create(Spec("100%"), "alice", /*dry_run=*/true).value();
  std::map<std::string, std::string> note;
  for (const auto& h : plan.hosts()) note[h.agent_id()] = h.message();
  EXPECT_THAT(note["h0"], HasSubstr("no gate rollback: demo 1.0 was not installed by Steward here"));
  EXPECT_EQ(note["h1"], "");
  EXPECT_EQ(note["h2"], "");
}

}  // namespace
}  // namespace steward::collector
