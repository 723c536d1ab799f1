// install_artifact: fetch and verify the artifact (trusted signature and
// SHA-256), then pre-check before any change: a readable package, its
// architecture, already at that version (SKIPPED), free space, and its
// relationships against what is installed. The package of the version it
// replaces is kept (STATE_DIR/kept/) when the agent installed it, so a
// failed change can be undone (rollback_on_failure: ROLLED_BACK) and a later
// rollback job can restore it. Also the undoing of install_artifact and
// remove_package jobs (RollBackPackageChange).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/jobs/kinds/kinds.h"
#include "agent/jobs/self_update.h"
#include "common/log_format.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

// "deb" or "rpm" from the file's first bytes (not from what the collector says).
absl::StatusOr<std::string> PackageKindOf(const std::string& path) {
  std::string head(32, '\0');
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  const ssize_t n = read(fd, head.data(), head.size());
  close(fd);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (absl::StartsWith(head, "!<arch>\ndebian-binary")) return std::string("deb");
  if (absl::StartsWith(head, "\xed\xab\xee\xdb")) return std::string("rpm");
  return absl::InvalidArgumentError("the artifact is neither a .deb nor an .rpm package");
}

// Back to the version before `change`: its kept package, or removal when it
// was new. OK with the version now installed ("" when removed).
absl::StatusOr<std::string> Restore(const JobContext& ctx, const internal::AgentJobRecord& change,
                                    v1::JobResult* result) {
  ASSIGN_OR_RETURN(const PackageManager* pm, ctx.ForKind(change.package_kind()));
  const std::string& name = change.result().package();
  const std::string& old = change.result().old_version();
  if (old.empty()) {
    ASSIGN_OR_RETURN(CommandResult r, ctx.ChangeHost(ToolOf(*pm) + " remove (rollback)",
                                                     [&] { return pm->Remove(name); }));
    RecordExitCode(result, r.exit_code);
    AppendOutput(result, ToolOf(*pm) + " remove (rollback):", r.output);
    ASSIGN_OR_RETURN(std::optional<DebState> state, pm->State(name));
    if (state.has_value() && state->installed()) {
      return absl::InternalError(
          absl::StrCat(ToolOf(*pm), " remove ", name, " exited ", r.exit_code));
    }
    return std::string();
  }
  if (change.kept_deb().empty() || access(change.kept_deb().c_str(), R_OK) != 0) {
    if (change.compacted() && !change.kept_deb().empty()) {  // PruneKept removed it
      return absl::FailedPreconditionError(
          absl::StrCat("job ", change.spec().job_id(), " finished too long ago: the package of ",
                       name, " ", old, " it would restore is no longer kept"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("no package of ", name, " ", old,
                     " is kept on this host (it was not installed by Steward)"));
  }
  ASSIGN_OR_RETURN(CommandResult r, ctx.ChangeHost(ToolOf(*pm) + " install (rollback)",
                                                   [&] { return pm->Install(change.kept_deb()); }));
  RecordExitCode(result, r.exit_code);
  AppendOutput(result, ToolOf(*pm) + " install (rollback):", r.output);
  absl::StatusOr<std::optional<DebState>> state = pm->State(name);
  RETURN_IF_ERROR(state.status());
  if (!AtVersion(*pm, state, old)) {
    return absl::InternalError(absl::StrCat(ToolOf(*pm), " install of the kept ", name, " ", old,
                                            " exited ", r.exit_code));
  }
  return old;
}

// rollback_on_failure (phase ROLLING_BACK): back to old_version.
void FinishRollback(const JobContext& ctx, internal::AgentJobRecord* rec,
                    const std::string& failure) {
  v1::JobResult* result = rec->mutable_result();
  absl::StatusOr<const PackageManager*> manager = ctx.ForKind(rec->package_kind());
  if (!manager.ok())
    return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; ", manager.status().message()));
  const PackageManager* pm = *manager;
  const std::string& old = result->old_version();
  absl::StatusOr<std::optional<DebState>> now = pm->State(result->package());
  absl::StatusOr<std::string> restored =
      AtVersion(*pm, now, old) ? absl::StatusOr<std::string>(old) : Restore(ctx, *rec, result);
  if (!restored.ok()) {
    return ctx.Finish(rec, v1::JOB_FAILED,
                      absl::StrCat(failure, "; rollback failed: ", restored.status().message()));
  }
  result->set_new_version(*restored);
  ctx.Finish(
      rec, v1::JOB_ROLLED_BACK,
      absl::StrCat(failure, "; rolled back to ", restored->empty() ? "not installed" : *restored));
}

}  // namespace

void RunInstallArtifact(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  // Set at RECEIVED from the file itself; stored for a resume.
  const PackageManager* pm = ctx.dpkg;
  if (rec->phase() != internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<const PackageManager*> manager = ctx.ForKind(rec->package_kind());
    if (!manager.ok())
      return ctx.Finish(rec, v1::JOB_FAILED, std::string(manager.status().message()));
    pm = *manager;
  }
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    // Pre-checks: nothing on the host changes before they all pass.
    absl::StatusOr<FetchedArtifact> fetched = ctx.fetch(rec->spec().install_artifact().sha256());
    if (absl::IsCancelled(fetched.status())) {
      // The agent is stopping: the job stays RECEIVED and resumes at start.
      spdlog::info("job {}: {}", rec->spec().job_id(), std::string(fetched.status().message()));
      return;
    }
    if (!fetched.ok())
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("artifact: ", fetched.status().message()));
    absl::StatusOr<std::string> kind = PackageKindOf(fetched->path);
    if (!kind.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(kind.status().message()));
    rec->set_package_kind(*kind);
    absl::StatusOr<const PackageManager*> manager = ctx.ForKind(*kind);
    if (!manager.ok())
      return ctx.Finish(rec, v1::JOB_FAILED, std::string(manager.status().message()));
    pm = *manager;
    absl::StatusOr<DebInfo> info = pm->Inspect(fetched->path);
    if (!info.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(info.status().message()));
    result->set_package(info->package);
    result->set_new_version(info->version);
    absl::StatusOr<std::string> arch = pm->Architecture();
    if (!arch.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(arch.status().message()));
    if (!pm->ArchitectureFits(info->architecture, *arch)) {
      return ctx.Finish(
          rec, v1::JOB_FAILED,
          absl::StrCat("the package is for ", info->architecture, "; this host is ", *arch));
    }
    absl::StatusOr<std::optional<DebState>> state = pm->State(info->package);
    if (!state.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(state.status().message()));
    if (state->has_value() && !(*state)->installed()) {
      // Half-installed or unconfigured: that is no version to return to.
      return ctx.Finish(
          rec, v1::JOB_FAILED,
          absl::StrCat(info->package, " ", (*state)->version, " is in dpkg state '",
                       (*state)->status,
                       "'; repair it first (dpkg --configure -a, or a rollback job)"));
    }
    std::string old;
    if (state->has_value()) old = (*state)->version;
    result->set_old_version(old);
    if (state->has_value() && (*state)->installed() &&
        pm->CompareVersions(old, info->version) == 0) {
      return ctx.Finish(rec, v1::JOB_SKIPPED, absl::StrCat("already at ", old));
    }
    absl::StatusOr<uint64_t> free = pm->FreeBytes();
    const uint64_t need = info->installed_size_bytes + ctx.options.reserve_bytes;
    if (free.ok() && *free < need) {
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("not enough disk space: needs ", need >> 20, " MiB, ",
                                     *free >> 20, " MiB free"));
    }
    absl::StatusOr<std::vector<std::string>> unmet = pm->InstallProblems(fetched->path, *info);
    if (!unmet.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(unmet.status().message()));
    if (!unmet->empty()) {
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("dependency problems: ", absl::StrJoin(*unmet, "; ")));
    }
    if (state->has_value() && (*state)->installed()) {
      const std::string kept =
          ctx.options.state_dir + "/kept/" + KeptFileName(info->package, old, pm->Kind());
      if (access(kept.c_str(), R_OK) == 0) rec->set_kept_deb(kept);
    }
    rec->set_target_deb(fetched->path);
    // From here on the host changes: record how to undo it first.
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = ctx.Save(*rec); !st.ok()) {
      return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }

  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK)
    return FinishRollback(ctx, rec, result->message());

  // CHANGING (also after a crash): done already when the manager shows the
  // target and that proves its scripts ran (dpkg: "installed" means the
  // postinst succeeded). rpm shows a package whose %post failed as
  // installed: when this run has not seen rpm's own exit (a crash during or
  // after it), rpm installs it again, which runs %post again, and its exit
  // decides.
  // The agent's own package: installed under a watchdog, finished by the
  // new agent once it reports (self_update.h).
  SelfUpdate* const self =
      result->package() == kAgentPackage && pm->Kind() == "deb" ? ctx.options.self_update : nullptr;
  const std::string& state_dir = ctx.options.state_dir;
  if (self != nullptr) {
    if (absl::StatusOr<std::string> reason = RestoredReason(state_dir, rec->spec().job_id()); reason.ok()) {
      absl::StatusOr<std::optional<DebState>> back = pm->State(result->package());
      if (back.ok() && back->has_value()) result->set_new_version((*back)->version);
      ClearSelfUpdate(state_dir);
      return ctx.Finish(rec, v1::JOB_ROLLED_BACK, *reason);
    }
  }
  absl::StatusOr<std::optional<DebState>> now = pm->State(result->package());
  const bool outcome_unknown = !pm->StateProvesScriptsRan() && result->exit_code() < 0;
  bool installed_here = false;
  if (!AtVersion(*pm, now, result->new_version()) || outcome_unknown) {
    if (self != nullptr) {
      SelfUpdatePlan plan{rec->spec().job_id(), result->old_version(), result->new_version(), rec->kept_deb()};
      if (absl::Status armed = self->Arm(plan); !armed.ok()) {
        return ctx.Finish(rec, v1::JOB_FAILED,
                          absl::StrCat("cannot start the self-update watchdog: ", armed.message(),
                                       "; nothing was changed"));
      }
    }
    absl::StatusOr<CommandResult> r =
        ctx.ChangeHost(ToolOf(*pm) + " install", [&] { return pm->Install(rec->target_deb()); });
    if (!r.ok()) {
      AppendOutput(result, ToolOf(*pm) + " install:", std::string(r.status().message()));
    } else {
      result->set_exit_code(r->exit_code);
      AppendOutput(result, ToolOf(*pm) + " install:", r->output);
    }
    now = pm->State(result->package());
    installed_here = true;
  }
  // At the target, and the tool (when it ran) did not fail: rpm leaves a
  // package installed when its %post fails, and says so only by its exit.
  if (AtVersion(*pm, now, result->new_version()) && result->exit_code() <= 0) {
    if (self != nullptr && installed_here) {
      // The job stays CHANGING: the new agent resumes it.
      if (absl::Status st = ctx.Save(*rec); !st.ok()) {
        spdlog::warn("job {}: cannot record the job before restarting: {}", rec->spec().job_id(), st.message());
      }
      absl::Status restarted = self->Restart();  // returns only on failure
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("installed steward-agent ", result->new_version(),
                                     " but cannot start it: ", restarted.message(),
                                     "; the watchdog restores ", result->old_version()));
    }
    if (self != nullptr) {
      if (!self->WaitDelivered(rec->spec().job_id(), self->deadline())) {
        // Not connected yet: the watchdog restores the old agent, which
        // finishes this job ROLLED_BACK.
        spdlog::warn("job {}: this new agent has not reported within {}; the watchdog decides",
                     rec->spec().job_id(), absl::FormatDuration(self->deadline()));
        return;
      }
      ClearSelfUpdate(state_dir);
    }
    // Keep this package: it is what a later rollback restores.
    const std::string kept_dir = ctx.options.state_dir + "/kept";
    const std::string kept =
        kept_dir + "/" + KeptFileName(result->package(), result->new_version(), pm->Kind());
    ctx.CrashPoint("before keeping the package");
    if (MakeDirs(kept_dir, 0700).ok() && access(kept.c_str(), F_OK) != 0 &&
        link(rec->target_deb().c_str(), kept.c_str()) != 0) {
      auto bytes = ReadFile(rec->target_deb());
      if (!bytes.ok() || !WriteFileAtomic(kept, *bytes, 0600).ok()) {
        spdlog::warn("job {}: could not keep {} for rollbacks", rec->spec().job_id(), kept);
      }
    }
    return ctx.Finish(rec, v1::JOB_SUCCEEDED,
                      self != nullptr ? absl::StrCat("steward-agent ", result->new_version(),
                                                     " runs and reported to the collector")
                                      : "");
  }
  // The new agent never ran: nothing for the watchdog to restore.
  if (self != nullptr) DisarmSelfUpdate(state_dir, rec->spec().job_id());
  const std::string failure = absl::StrCat(
      ToolOf(*pm), " could not install ", result->package(), " ", result->new_version(),
      result->exit_code() >= 0 ? absl::StrCat(" (exit ", result->exit_code(), ")") : "",
      now.ok() && now->has_value() ? absl::StrCat("; ", ToolOf(*pm), " now shows ", (*now)->version,
                                                  " '", (*now)->status, "'")
                                   : "");
  if (!rec->spec().rollback_on_failure()) {
    if (now.ok() && now->has_value()) result->set_new_version((*now)->version);
    return ctx.Finish(rec, v1::JOB_FAILED, failure);
  }
  // Recorded first: a crash during the rollback must resume the rollback,
  // not install the failing version again.
  if (!ctx.BeginRollback(rec, failure)) return;
  FinishRollback(ctx, rec, failure);
}

bool InstallArtifactChanged(const internal::AgentJobRecord& target) {
  const v1::JobStatus was = target.result().status();
  return !target.target_deb().empty() && was != v1::JOB_SKIPPED && was != v1::JOB_ROLLED_BACK;
}

void RollBackPackageChange(const JobContext& ctx, const internal::AgentJobRecord& target,
                           internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  absl::StatusOr<const PackageManager*> manager = ctx.ForKind(target.package_kind());
  if (!manager.ok())
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(manager.status().message()));
  const PackageManager* pm = *manager;
  absl::StatusOr<std::optional<DebState>> now = pm->State(result->package());
  const bool resumed = rec->phase() == internal::AgentJobRecord::CHANGING;
  if (!resumed) {
    result->set_old_version(now.ok() && now->has_value() ? (*now)->version : "");
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = ctx.Save(*rec); !st.ok()) {
      return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  // Already in the state before the change: after a crash mid-rollback the
  // restore is done; before any step, there is nothing to do.
  const std::string& old = target.result().old_version();
  if (AtVersion(*pm, now, old)) {
    result->set_new_version(old);
    return ctx.Finish(
        rec, resumed ? v1::JOB_ROLLED_BACK : v1::JOB_SKIPPED,
        absl::StrCat(resumed ? "restored " : "already at ", old.empty() ? "(not installed)" : old));
  }
  absl::StatusOr<std::string> restored = Restore(ctx, target, result);
  if (!restored.ok())
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
  result->set_new_version(*restored);
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat("restored ", restored->empty() ? "(removed)" : *restored));
}

}  // namespace steward::agent
