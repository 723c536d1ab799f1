#pragma once
// Runs deployment jobs on this host, once each, surviving crashes.
//
// Each job has a record in STATE_DIR/jobs/<job id> (AgentJobRecord),
// rewritten atomically at every phase: RECEIVED (nothing changed yet),
// CHANGING (the previous version and the package to restore it are
// recorded before dpkg runs), DONE (the result is final). Run() of a job id
// that is DONE returns the stored result without doing anything; one left
// CHANGING by a kill -9 looks at what dpkg shows and finishes from there,
// never recording the half-installed version as the "old" one.
//
// What each kind of job does is in agent/jobs/kinds/ (one file per kind,
// registered in kinds.cc); the executor checks the spec, keeps the record
// and hands the job to its kind. An install keeps the package of the version
// it replaces (STATE_DIR/kept/) for rollbacks; a kept package nothing can
// restore any more is deleted (see PruneKept).
//
// Only an operator can allow a job that changes the host: a new job must
// carry a statement signed by a publisher key this agent trusts
// (common/jobs/job_statement.h), naming this agent, not expired, covering
// the job's action and parameters, and not used up on this agent already
// (StatementLedger, STATE_DIR/statements/). Otherwise Run answers FAILED
// saying why, records nothing and runs nothing. No trusted key: no such job.
//
// Not thread-safe: one job at a time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/jobs/job_context.h"
#include "agent/jobs/statement_ledger.h"

namespace steward::agent {

class JobExecutor {
 public:
  using FetchFn = JobContext::FetchFn;

  JobExecutor(const DpkgBackend* dpkg, FetchFn fetch, JobExecutorOptions options,
              std::function<int64_t()> now_ms);

  // Runs, resumes or answers `spec` (see above). A final result is
  // persisted before it is returned; a job interrupted because the agent is
  // stopping (its fetch was cancelled) returns JOB_RUNNING and resumes at
  // the next start.
  v1::JobResult Run(const v1::JobSpec& spec);

  // The collector withdrew job `job_id` (CollectorMessage.cancel_job). Not
  // received yet: a DONE record says it was cancelled (JOB_SKIPPED,
  // cancelled), so a later delivery is answered with that and never runs,
  // and that result is returned. DONE already: its result. Started
  // (RECEIVED, CHANGING): nothing — it finishes and reports its own.
  std::optional<v1::JobResult> Cancel(const std::string& job_id, const std::string& reason);

  // apt_package jobs go through `apt` (null: they fail saying apt is not
  // set up). Call before the first Run.
  void set_apt(const AptBackend* apt) { ctx_.apt = apt; }
  // .rpm artifacts install through `rpm` (null: they fail saying so).
  void set_rpm(const PackageManager* rpm) { ctx_.rpm = rpm; }
  // Tests only: called at each point where a crash may stop a job (see
  // JobContext::crash_point).
  void set_crash_point(std::function<void(absl::string_view)> hook) {
    ctx_.crash_point = std::move(hook);
  }

  // Jobs received but not DONE (to resume after a restart), by job id.
  // Compacts old finished records on the way (compact_after_ms), then
  // prunes kept packages.
  std::vector<v1::JobSpec> Unfinished() const;

  // Deletes the kept packages (STATE_DIR/kept/) that nothing can restore any
  // more: kept for no record that is not compacted, and not the version now
  // installed of a package a job installed or removed (the next change's
  // rollback needs that one), nor what an unfinished rollback job restores.
  // Deletes nothing when jobs/ or a record cannot be read, and nothing of a
  // package whose state is unclear. Runs at Unfinished() and after each
  // install or removal; returns how many files it deleted.
  size_t PruneKept() const;

 private:
  // A new job may run: a host-changing one carries a statement signed by a
  // trusted key, for this agent, not expired, covering its action, and not
  // a replay (the ledger admits and records it). PermissionDenied saying why.
  absl::Status Authorize(const v1::JobSpec& spec);
  // The ids in jobs/, sorted (no hidden names, no WriteFileAtomic leftovers);
  // none when jobs/ does not exist, an error when it cannot be read.
  absl::StatusOr<std::vector<std::string>> JobIds() const;

  JobContext ctx_;
  StatementLedger ledger_;
  int64_t last_ledger_prune_ms_ = 0;
};

}  // namespace steward::agent
