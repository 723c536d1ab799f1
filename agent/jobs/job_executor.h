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
// install_artifact: fetch and verify the artifact (trusted signature and
// SHA-256), then pre-check before any change: a readable .deb, its
// architecture, already at that version (SKIPPED), free space, and its
// Depends/Pre-Depends/Conflicts/Breaks against what is installed. The
// package of the version it replaces is kept (STATE_DIR/kept/) when the
// agent installed it, so a failed change can be undone with
// rollback_on_failure (ROLLED_BACK) and a later rollback job can restore it.
// A kept package nothing can restore any more is deleted (see PruneKept).
//
// Not thread-safe: one job at a time.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/artifacts/artifact_fetcher.h"
#include "agent/jobs/apt_backend.h"
#include "agent/jobs/dpkg_backend.h"
#include "steward/internal/records.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {

struct JobExecutorOptions {
  std::string state_dir;  // holds jobs/ and kept/
  // Free space to leave beyond what the package needs.
  uint64_t reserve_bytes = 64 << 20;
  // Job records finished longer ago than this lose their output and the
  // previous file a write_config kept (up to 2 MiB each); such a config
  // change can no longer be rolled back, nor an install or removal once its
  // kept package is pruned. 0: never.
  int64_t compact_after_ms = int64_t{30} * 24 * 3600 * 1000;
};

class JobExecutor {
 public:
  using FetchFn = std::function<absl::StatusOr<FetchedArtifact>(const std::string& sha256)>;

  JobExecutor(const DpkgBackend* dpkg, FetchFn fetch, JobExecutorOptions options,
              std::function<int64_t()> now_ms);

  // Runs, resumes or answers `spec` (see above). A final result is
  // persisted before it is returned; a job interrupted because the agent is
  // stopping (its fetch was cancelled) returns JOB_RUNNING and resumes at
  // the next start.
  v1::JobResult Run(const v1::JobSpec& spec);

  // apt_package jobs go through `apt` (null: they fail saying apt is not
  // set up). Call before the first Run.
  void set_apt(const AptBackend* apt) { apt_ = apt; }
  // .rpm artifacts install through `rpm` (null: they fail saying so).
  void set_rpm(const PackageManager* rpm) { rpm_ = rpm; }

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
  void Install(internal::AgentJobRecord* rec);
  void Rollback(internal::AgentJobRecord* rec);
  void RemovePackage(internal::AgentJobRecord* rec);
  void RunScript(internal::AgentJobRecord* rec);
  void WriteConfig(internal::AgentJobRecord* rec);
  void RestartService(internal::AgentJobRecord* rec);
  void AptPackage(internal::AgentJobRecord* rec);
  // apt to the version before `change` (or removal when it was new).
  absl::StatusOr<std::string> RestoreApt(const internal::AgentJobRecord& change, v1::JobResult* result);
  // systemctl restart; the output goes into `result`.
  absl::Status RestartUnit(const std::string& unit, v1::JobResult* result);
  // Puts a write_config job's file back as it was (and restarts its unit).
  // OK with what was done, for the message.
  absl::StatusOr<std::string> RestoreConfig(const internal::AgentJobRecord& change, v1::JobResult* result);
  // Install's rollback_on_failure (phase ROLLING_BACK): back to old_version.
  void FinishRollback(internal::AgentJobRecord* rec, const std::string& failure);
  // Restores the version before `change` (kept package, or removal when it
  // was new). OK with the version now installed ("" when removed).
  absl::StatusOr<std::string> Restore(const internal::AgentJobRecord& change, v1::JobResult* result);
  void Finish(internal::AgentJobRecord* rec, v1::JobStatus status, const std::string& message);
  absl::Status Save(const internal::AgentJobRecord& rec) const;
  // dpkg for "deb" (and ""), rpm_ for "rpm".
  absl::StatusOr<const PackageManager*> ForKind(const std::string& kind) const;
  absl::StatusOr<internal::AgentJobRecord> Load(const std::string& job_id) const;
  std::string RecordPath(const std::string& job_id) const;
  // The ids in jobs/, sorted (no hidden names, no WriteFileAtomic leftovers);
  // none when jobs/ does not exist, an error when it cannot be read.
  absl::StatusOr<std::vector<std::string>> JobIds() const;

  const DpkgBackend* dpkg_;
  const AptBackend* apt_ = nullptr;
  const PackageManager* rpm_ = nullptr;
  FetchFn fetch_;
  JobExecutorOptions options_;
  std::function<int64_t()> now_ms_;
};

}  // namespace steward::agent
