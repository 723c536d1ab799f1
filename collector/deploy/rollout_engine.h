#pragma once
// Staged rollouts (deployments): a persisted state machine that turns one
// DeploymentSpec into jobs, wave by wave.
//
// Create resolves the target once, orders its hosts (a stable shuffle by
// deployment id, so the canary is no particular host) and splits them into
// the planned waves. Tick, called by RolloutScheduler about once a second,
// advances every unfinished deployment one step from what is stored:
//   - running hosts take their job's result (jobs column family);
//   - within the maintenance window and before the deadline, pending hosts
//     of the current wave get a job (install with rollback_on_failure),
//     at most max_parallel changing at a time;
//   - a wave whose failures exceed error_threshold_pct stops (no new jobs);
//     once its jobs finish the rollout pauses or stops (policy);
//   - a finished wave holds for health_gate_ms: a host whose application
//     checks turn unhealthy (or crash-degraded) in that time fails the gate
//     and gets a rollback job to the version it had;
//   - then the next wave starts; after the last, SUCCEEDED (or FAILED when
//     hosts failed and people resumed past them: resume after a failed wave
//     runs its remaining hosts and goes on).
// A gate passes only on fresh reports: a host must be connected and every
// check it has must have run after its job finished; a host offline at the
// end of the gate fails it.
// Every step is stored before it acts on it or right after (job ids are
// derived from the deployment, attempt and host, and creating an existing
// job is recognised), so a collector restart resumes exactly where it was.
//
// Thread-safe: Create, Control and Tick serialize on one mutex.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/jobs/deployment_names.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::collector {

class Store;
class ArtifactRepository;
class SessionRegistry;

struct RolloutDeps {
  Store* store = nullptr;
  ArtifactRepository* artifacts = nullptr;
  SessionRegistry* sessions = nullptr;
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // 8 hex digits for a new deployment's id ("d-" and these); random.
  std::function<std::string()> new_id;
  // Finished jobs older than this are deleted (hourly, by Tick), except
  // those of deployments that have not finished.
  absl::Duration job_retention = absl::Hours(24 * 90);
};

class RolloutEngine {
 public:
  explicit RolloutEngine(RolloutDeps deps) : deps_(std::move(deps)) {}

  // Checks the spec, resolves the target and plans the waves; stores and
  // starts it unless `dry_run`.
  absl::StatusOr<v1::Deployment> Create(const v1::DeploymentSpec& spec, const std::string& by, bool dry_run);
  absl::StatusOr<v1::Deployment> Control(const std::string& id, v1::ControlDeploymentRequest::Action action,
                                         const std::string& by);
  // One step of every unfinished deployment (see above); once an hour
  // (the first an hour after start) also PruneJobs.
  void Tick();
  // Deletes the finished jobs older than job_retention, keeping those of
  // deployments that have not finished. Returns how many went.
  absl::StatusOr<size_t> PruneJobs();
  // Calls remove() unless a deployment that is not finished uses the
  // artifact (FailedPrecondition then), under the lock Create stores a new
  // deployment with: the two cannot cross.
  absl::Status DeleteArtifactUnlessInUse(const std::string& sha256, const std::function<absl::Status()>& remove);

 private:
  absl::Status Advance(v1::Deployment* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefreshHosts(v1::Deployment* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartJob(v1::Deployment* d, v1::DeploymentHost* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A host fails its health gate: a rollback job when its job changed it.
  void FailGate(v1::Deployment* d, v1::DeploymentHost* h, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WaveFailed(v1::Deployment* d, int failed, int total) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NextWave(v1::Deployment* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopPendingHosts(v1::Deployment* d, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A job `h` would get next already exists (created before a restart lost
  // the step): the host takes it as running. False when there is none.
  bool AdoptCreatedJob(const v1::Deployment& d, v1::DeploymentHost* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same for a gate rollback job (checked when a host would pass its gate).
  bool AdoptGateRollback(v1::DeploymentHost* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Withdraws the host's job (Store::WithdrawJobIfPending) and sends its
  // cancel: it is never delivered again, and a host that has it and has
  // not started it does not start it. False when the host has reported a
  // result already.
  bool Withdraw(v1::DeploymentHost* h, const std::string& why, v1::DeploymentHostStatus as)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeResult(const v1::Deployment& d, v1::DeploymentHost* h, const v1::JobResult& r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `--package NAME` without a version: the canary's result fixes the
  // version (Deployment.version) every later job installs.
  void PinCanaryVersion(v1::Deployment* d, const v1::DeploymentHost& h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The health gate of the current wave: OK when it is over and passed.
  bool GatePassed(v1::Deployment* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether Tick still has something to do for `d`.
  bool NeedsTick(const v1::Deployment& d) const;
  // For a dry run: why a failed gate could not roll this host back (its
  // installed version of the package was not installed by Steward, so the
  // agent kept no package of it), or "".
  std::string RollbackNote(const std::string& agent_id, const v1::Artifact& artifact);
  // A gated host without a fresh report was asked for one more than 10 s
  // ago (or never, since this engine started: it came back mid-gate).
  bool AskAgain(const std::string& agent_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<size_t> PruneJobsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Names of the host's checks that are not OK now.
  std::vector<std::string> Unhealthy(const std::string& agent_id);

  RolloutDeps deps_;
  absl::Mutex mu_;
  // Ids of the deployments Tick visits (read from the store at the first
  // Tick; finished ones leave, created and controlled ones join).
  std::optional<std::set<std::string>> active_ ABSL_GUARDED_BY(mu_);
  // Deployments visited since this engine started (AdoptCreatedJob runs
  // for their pending hosts once).
  std::set<std::string> adopted_ ABSL_GUARDED_BY(mu_);
  // When each host was last asked for a health report (GatePassed).
  std::map<std::string, absl::Time> asked_ ABSL_GUARDED_BY(mu_);
  absl::Time last_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Calls RolloutEngine::Tick every `every` on a thread of its own.
class RolloutScheduler {
 public:
  RolloutScheduler(RolloutEngine* engine, absl::Duration every);
  ~RolloutScheduler();  // stops and joins

 private:
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace steward::collector
