#pragma once
// The kinds of job this agent runs: one file per kind in this folder, each
// row of the registration list in kinds.cc naming its functions. The
// common table (common/jobs/job_kinds.h) says what a kind is called and
// how its spec is checked; this one says how the agent does it and undoes it.
//
// Every run function works from the job's record (JobContext): it starts at
// RECEIVED, may record CHANGING (and ROLLING_BACK) before it touches the
// host, resumes from whichever phase a crash left, and ends with
// JobContext::Finish, except when it is interrupted because the agent is
// stopping (the record then stays unfinished and resumes at start).
//
// The table is immutable and thread-safe; the functions are not (one job at
// a time).

#include <string>

#include "absl/status/statusor.h"
#include "agent/jobs/job_context.h"

namespace steward::agent {

struct AgentJobKind {
  v1::JobSpec::ActionCase action;
  // Runs or resumes a job of this kind.
  void (*run)(const JobContext& ctx, internal::AgentJobRecord* rec);
  // A rollback job `rb` undoing `target`, a finished job of this kind that
  // `changed`; null when such a job cannot be undone.
  void (*roll_back)(const JobContext& ctx, const internal::AgentJobRecord& target,
                    internal::AgentJobRecord* rb);
  // Whether the finished `target` left something a rollback can undo.
  bool (*changed)(const internal::AgentJobRecord& target);
  // It installs or removes packages: kept packages are pruned after it.
  bool keeps_packages;
  // Its rollback needs what compaction drops (a compacted record cannot be undone).
  bool undo_needs_full_record;
};

// The kind of a spec's action; null when this agent has none for it.
const AgentJobKind* FindAgentJobKind(v1::JobSpec::ActionCase action);

// --- The kinds (one file each).
void RunInstallArtifact(const JobContext& ctx, internal::AgentJobRecord* rec);
void RunRemovePackage(const JobContext& ctx, internal::AgentJobRecord* rec);
void RunAptPackage(const JobContext& ctx, internal::AgentJobRecord* rec);
void RunScript(const JobContext& ctx, internal::AgentJobRecord* rec);
void RunWriteConfig(const JobContext& ctx, internal::AgentJobRecord* rec);
void RunRestartService(const JobContext& ctx, internal::AgentJobRecord* rec);
void RunRollback(const JobContext& ctx, internal::AgentJobRecord* rec);

// Undoing an install_artifact or remove_package job (install_artifact.cc):
// back to the version before it from the kept package, or removal when the
// package was new.
void RollBackPackageChange(const JobContext& ctx, const internal::AgentJobRecord& target,
                           internal::AgentJobRecord* rb);
void RollBackAptPackage(const JobContext& ctx, const internal::AgentJobRecord& target,
                        internal::AgentJobRecord* rb);
void RollBackWriteConfig(const JobContext& ctx, const internal::AgentJobRecord& target,
                         internal::AgentJobRecord* rb);
bool InstallArtifactChanged(const internal::AgentJobRecord& target);
bool WriteConfigChanged(const internal::AgentJobRecord& target);
bool AptPackageChanged(const internal::AgentJobRecord& target);
// A job that finished SUCCEEDED.
bool Succeeded(const internal::AgentJobRecord& target);

// systemctl restart UNIT (restart_service.cc; write_config restarts too);
// the output goes into `result`.
absl::Status RestartUnit(const std::string& unit, v1::JobResult* result);

}  // namespace steward::agent
