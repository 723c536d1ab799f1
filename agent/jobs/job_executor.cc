#include "agent/jobs/job_executor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/exec/tool_runner.h"
#include "common/job_id.h"
#include "common/jobs/job_spec.h"
#include "common/status_macros.h"
#include "common/version/dpkg_version.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

constexpr size_t kMaxOutput = 64 << 10;

void AppendOutput(v1::JobResult* result, const std::string& header, const std::string& output) {
  std::string* out = result->mutable_output();
  absl::StrAppend(out, out->empty() ? "" : "\n", header, "\n", output);
  if (out->size() > kMaxOutput) out->erase(0, out->size() - kMaxOutput);
}

std::string FileName(const std::string& name, const std::string& version, const std::string& kind) {
  // ':' (epochs) is fine in file names; '/' cannot be in either.
  return absl::StrCat(name, "_", version, ".", kind);
}

std::string ToolOf(const PackageManager& pm) { return pm.Kind() == "rpm" ? "rpm" : "dpkg"; }

// The package is fully installed at `version`, or absent when `version` is
// empty (false when its state could not be read).
bool AtVersion(const PackageManager& pm, const absl::StatusOr<std::optional<DebState>>& state,
               const std::string& version) {
  if (!state.ok()) return false;
  if (version.empty()) return !state->has_value();
  return state->has_value() && (*state)->installed() && pm.CompareVersions((*state)->version, version) == 0;
}

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

}  // namespace

JobExecutor::JobExecutor(const DpkgBackend* dpkg, FetchFn fetch, JobExecutorOptions options,
                         std::function<int64_t()> now_ms)
    : dpkg_(dpkg), fetch_(std::move(fetch)), options_(std::move(options)), now_ms_(std::move(now_ms)) {}

std::string JobExecutor::RecordPath(const std::string& job_id) const {
  return options_.state_dir + "/jobs/" + job_id;
}

absl::Status JobExecutor::Save(const internal::AgentJobRecord& rec) const {
  RETURN_IF_ERROR(MakeDirs(options_.state_dir + "/jobs", 0700));
  return WriteFileAtomic(RecordPath(rec.spec().job_id()), rec.SerializeAsString(), 0600);
}

absl::StatusOr<internal::AgentJobRecord> JobExecutor::Load(const std::string& job_id) const {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(RecordPath(job_id)));
  internal::AgentJobRecord rec;
  if (!rec.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat(RecordPath(job_id), " is damaged"));
  }
  return rec;
}

void JobExecutor::Finish(internal::AgentJobRecord* rec, v1::JobStatus status, const std::string& message) {
  v1::JobResult* r = rec->mutable_result();
  r->set_status(status);
  r->set_message(message);
  r->set_finished_ms(now_ms_());
  rec->set_phase(internal::AgentJobRecord::DONE);
  // Unsaved, the job would be resumed at the next start: try hard. (A
  // resume is still safe: each phase checks the host's state first.)
  absl::Status st = Save(*rec);
  for (int attempt = 1; !st.ok() && attempt < 5; ++attempt) {
    spdlog::error("job {}: cannot record its result (attempt {}): {}", rec->spec().job_id(), attempt,
                  st.ToString());
    usleep(200'000 * attempt);
    st = Save(*rec);
  }
  spdlog::info("job {}: {} {} {} -> {}{}{}", rec->spec().job_id(), v1::JobStatus_Name(status), r->package(),
               r->old_version().empty() ? "(none)" : r->old_version(),
               r->new_version().empty() ? "(none)" : r->new_version(), message.empty() ? "" : ": ", message);
}

v1::JobResult JobExecutor::Run(const v1::JobSpec& spec) {
  if (!IsValidJobId(spec.job_id())) {
    v1::JobResult r;
    r.set_job_id(spec.job_id());
    r.set_status(v1::JOB_FAILED);
    r.set_exit_code(-1);
    r.set_message(absl::StrCat("job id must be ", kJobIdRule));
    return r;
  }
  internal::AgentJobRecord rec;
  absl::StatusOr<internal::AgentJobRecord> loaded = Load(spec.job_id());
  if (loaded.ok()) {
    rec = *std::move(loaded);
    if (rec.phase() == internal::AgentJobRecord::DONE) return rec.result();
    spdlog::info("job {}: resuming ({})", spec.job_id(), internal::AgentJobRecord::Phase_Name(rec.phase()));
  } else if (!absl::IsNotFound(loaded.status())) {
    // A record we cannot read may be a job that already changed the host:
    // running it again could repeat a step. Report, and leave it to people.
    v1::JobResult failed;
    failed.set_job_id(spec.job_id());
    failed.set_status(v1::JOB_FAILED);
    failed.set_exit_code(-1);
    failed.set_message(absl::StrCat("this host's record of the job cannot be read (", loaded.status().message(),
                                    "); check it, remove it and run a new job"));
    return failed;
  } else {
    *rec.mutable_spec() = spec;
    rec.set_phase(internal::AgentJobRecord::RECEIVED);
    v1::JobResult* r = rec.mutable_result();
    r->set_job_id(spec.job_id());
    r->set_status(v1::JOB_RUNNING);
    r->set_exit_code(-1);
    r->set_started_ms(now_ms_());
    if (absl::Status st = Save(rec); !st.ok()) {
      // Without a record the job could run twice after a crash: refuse it.
      v1::JobResult failed = rec.result();
      failed.set_status(v1::JOB_FAILED);
      failed.set_message(absl::StrCat("cannot record the job before running it: ", st.message()));
      return failed;
    }
  }
  if (absl::Status valid = ValidateJobSpec(rec.spec()); !valid.ok()) {
    Finish(&rec, v1::JOB_FAILED, std::string(valid.message()));
    return rec.result();
  }
  switch (rec.spec().action_case()) {
    case v1::JobSpec::kInstallArtifact:
      Install(&rec);
      break;
    case v1::JobSpec::kRollback:
      Rollback(&rec);
      break;
    case v1::JobSpec::kRemovePackage:
      RemovePackage(&rec);
      break;
    case v1::JobSpec::kRunScript:
      RunScript(&rec);
      break;
    case v1::JobSpec::kWriteConfig:
      WriteConfig(&rec);
      break;
    case v1::JobSpec::kRestartService:
      RestartService(&rec);
      break;
    case v1::JobSpec::kAptPackage:
      AptPackage(&rec);
      break;
    default:
      Finish(&rec, v1::JOB_FAILED, "the job has no action this agent knows (a newer collector?)");
  }
  const v1::JobSpec::ActionCase action = rec.spec().action_case();
  if (rec.phase() == internal::AgentJobRecord::DONE &&
      (action == v1::JobSpec::kInstallArtifact || action == v1::JobSpec::kRemovePackage)) {
    PruneKept();
  }
  return rec.result();
}

void JobExecutor::Install(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  // Set at RECEIVED from the file itself; stored for a resume.
  const PackageManager* pm = dpkg_;
  if (rec->phase() != internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<const PackageManager*> manager = ForKind(rec->package_kind());
    if (!manager.ok()) return Finish(rec, v1::JOB_FAILED, std::string(manager.status().message()));
    pm = *manager;
  }
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    // Pre-checks: nothing on the host changes before they all pass.
    absl::StatusOr<FetchedArtifact> fetched = fetch_(rec->spec().install_artifact().sha256());
    if (absl::IsCancelled(fetched.status())) {
      // The agent is stopping: the job stays RECEIVED and resumes at start.
      spdlog::info("job {}: {}", rec->spec().job_id(), std::string(fetched.status().message()));
      return;
    }
    if (!fetched.ok()) return Finish(rec, v1::JOB_FAILED, absl::StrCat("artifact: ", fetched.status().message()));
    absl::StatusOr<std::string> kind = PackageKindOf(fetched->path);
    if (!kind.ok()) return Finish(rec, v1::JOB_FAILED, std::string(kind.status().message()));
    rec->set_package_kind(*kind);
    absl::StatusOr<const PackageManager*> manager = ForKind(*kind);
    if (!manager.ok()) return Finish(rec, v1::JOB_FAILED, std::string(manager.status().message()));
    pm = *manager;
    absl::StatusOr<DebInfo> info = pm->Inspect(fetched->path);
    if (!info.ok()) return Finish(rec, v1::JOB_FAILED, std::string(info.status().message()));
    result->set_package(info->package);
    result->set_new_version(info->version);
    absl::StatusOr<std::string> arch = pm->Architecture();
    if (!arch.ok()) return Finish(rec, v1::JOB_FAILED, std::string(arch.status().message()));
    if (!pm->ArchitectureFits(info->architecture, *arch)) {
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat("the package is for ", info->architecture, "; this host is ", *arch));
    }
    absl::StatusOr<std::optional<DebState>> state = pm->State(info->package);
    if (!state.ok()) return Finish(rec, v1::JOB_FAILED, std::string(state.status().message()));
    if (state->has_value() && !(*state)->installed()) {
      // Half-installed or unconfigured: that is no version to return to.
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat(info->package, " ", (*state)->version, " is in dpkg state '", (*state)->status,
                                 "'; repair it first (dpkg --configure -a, or a rollback job)"));
    }
    std::string old;
    if (state->has_value()) old = (*state)->version;
    result->set_old_version(old);
    if (state->has_value() && (*state)->installed() && pm->CompareVersions(old, info->version) == 0) {
      return Finish(rec, v1::JOB_SKIPPED, absl::StrCat("already at ", old));
    }
    absl::StatusOr<uint64_t> free = pm->FreeBytes();
    const uint64_t need = info->installed_size_bytes + options_.reserve_bytes;
    if (free.ok() && *free < need) {
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat("not enough disk space: needs ", need >> 20, " MiB, ", *free >> 20, " MiB free"));
    }
    absl::StatusOr<std::vector<std::string>> unmet = pm->InstallProblems(fetched->path, *info);
    if (!unmet.ok()) return Finish(rec, v1::JOB_FAILED, std::string(unmet.status().message()));
    if (!unmet->empty()) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("dependency problems: ", absl::StrJoin(*unmet, "; ")));
    }
    if (state->has_value() && (*state)->installed()) {
      const std::string kept = options_.state_dir + "/kept/" + FileName(info->package, old, pm->Kind());
      if (access(kept.c_str(), R_OK) == 0) rec->set_kept_deb(kept);
    }
    rec->set_target_deb(fetched->path);
    // From here on the host changes: record how to undo it first.
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = Save(*rec); !st.ok()) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }

  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK) return FinishRollback(rec, result->message());

  // CHANGING (also after a crash): done already when dpkg shows the target.
  absl::StatusOr<std::optional<DebState>> now = pm->State(result->package());
  if (!AtVersion(*pm, now, result->new_version())) {
    absl::StatusOr<CommandResult> r = pm->Install(rec->target_deb());
    if (!r.ok()) {
      AppendOutput(result, ToolOf(*pm) + " install:", std::string(r.status().message()));
    } else {
      result->set_exit_code(r->exit_code);
      AppendOutput(result, ToolOf(*pm) + " install:", r->output);
    }
    now = pm->State(result->package());
  }
  // At the target, and the tool (when it ran) did not fail: rpm leaves a
  // package installed when its %post fails, and says so only by its exit.
  if (AtVersion(*pm, now, result->new_version()) && result->exit_code() <= 0) {
    // Keep this package: it is what a later rollback restores.
    const std::string kept_dir = options_.state_dir + "/kept";
    const std::string kept = kept_dir + "/" + FileName(result->package(), result->new_version(), pm->Kind());
    if (MakeDirs(kept_dir, 0700).ok() && access(kept.c_str(), F_OK) != 0 &&
        link(rec->target_deb().c_str(), kept.c_str()) != 0) {
      auto bytes = ReadFile(rec->target_deb());
      if (!bytes.ok() || !WriteFileAtomic(kept, *bytes, 0600).ok()) {
        spdlog::warn("job {}: could not keep {} for rollbacks", rec->spec().job_id(), kept);
      }
    }
    return Finish(rec, v1::JOB_SUCCEEDED, "");
  }
  const std::string failure =
      absl::StrCat(ToolOf(*pm), " could not install ", result->package(), " ", result->new_version(),
                   result->exit_code() >= 0 ? absl::StrCat(" (exit ", result->exit_code(), ")") : "",
                   now.ok() && now->has_value() ? absl::StrCat("; ", ToolOf(*pm), " now shows ", (*now)->version, " '",
                                                               (*now)->status, "'")
                                                : "");
  if (!rec->spec().rollback_on_failure()) {
    if (now.ok() && now->has_value()) result->set_new_version((*now)->version);
    return Finish(rec, v1::JOB_FAILED, failure);
  }
  // Recorded first: a crash during the rollback must resume the rollback,
  // not install the failing version again.
  result->set_message(failure);
  rec->set_phase(internal::AgentJobRecord::ROLLING_BACK);
  if (absl::Status st = Save(*rec); !st.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; not rolled back: cannot record the job: ", st.message()));
  }
  FinishRollback(rec, failure);
}

void JobExecutor::FinishRollback(internal::AgentJobRecord* rec, const std::string& failure) {
  v1::JobResult* result = rec->mutable_result();
  absl::StatusOr<const PackageManager*> manager = ForKind(rec->package_kind());
  if (!manager.ok()) return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; ", manager.status().message()));
  const PackageManager* pm = *manager;
  const std::string& old = result->old_version();
  absl::StatusOr<std::optional<DebState>> now = pm->State(result->package());
  absl::StatusOr<std::string> restored =
      AtVersion(*pm, now, old) ? absl::StatusOr<std::string>(old) : Restore(*rec, result);
  if (!restored.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; rollback failed: ", restored.status().message()));
  }
  result->set_new_version(*restored);
  Finish(rec, v1::JOB_ROLLED_BACK,
         absl::StrCat(failure, "; rolled back to ", restored->empty() ? "not installed" : *restored));
}

absl::StatusOr<std::string> JobExecutor::Restore(const internal::AgentJobRecord& change, v1::JobResult* result) {
  ASSIGN_OR_RETURN(const PackageManager* pm, ForKind(change.package_kind()));
  const std::string& name = change.result().package();
  const std::string& old = change.result().old_version();
  if (old.empty()) {
    ASSIGN_OR_RETURN(CommandResult r, pm->Remove(name));
    result->set_exit_code(r.exit_code);
    AppendOutput(result, ToolOf(*pm) + " remove (rollback):", r.output);
    ASSIGN_OR_RETURN(std::optional<DebState> state, pm->State(name));
    if (state.has_value() && state->installed()) {
      return absl::InternalError(absl::StrCat(ToolOf(*pm), " remove ", name, " exited ", r.exit_code));
    }
    return std::string();
  }
  if (change.kept_deb().empty() || access(change.kept_deb().c_str(), R_OK) != 0) {
    if (change.compacted() && !change.kept_deb().empty()) {  // PruneKept removed it
      return absl::FailedPreconditionError(absl::StrCat("job ", change.spec().job_id(),
                                                        " finished too long ago: the package of ", name, " ", old,
                                                        " it would restore is no longer kept"));
    }
    return absl::FailedPreconditionError(absl::StrCat("no package of ", name, " ", old,
                                                      " is kept on this host (it was not installed by Steward)"));
  }
  ASSIGN_OR_RETURN(CommandResult r, pm->Install(change.kept_deb()));
  result->set_exit_code(r.exit_code);
  AppendOutput(result, ToolOf(*pm) + " install (rollback):", r.output);
  absl::StatusOr<std::optional<DebState>> state = pm->State(name);
  RETURN_IF_ERROR(state.status());
  if (!AtVersion(*pm, state, old)) {
    return absl::InternalError(absl::StrCat(ToolOf(*pm), " install of the kept ", name, " ", old, " exited ", r.exit_code));
  }
  return old;
}

void JobExecutor::Rollback(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const std::string& of = rec->spec().rollback().of_job_id();
  absl::StatusOr<internal::AgentJobRecord> target =
      IsValidJobId(of) ? Load(of) : absl::InvalidArgumentError("bad job id");
  if (!target.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat("no job '", of, "' on this host to roll back"));
  }
  result->set_package(target->result().package());
  if (target->phase() != internal::AgentJobRecord::DONE) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat("job ", of, " has not finished"));
  }
  const v1::JobStatus was = target->result().status();
  const v1::JobSpec::ActionCase kind = target->spec().action_case();
  if (kind == v1::JobSpec::kWriteConfig && target->compacted()) {
    return Finish(rec, v1::JOB_FAILED,
                  absl::StrCat("job ", of, " finished too long ago: what its rollback needs is no longer kept"));
  }
  if (kind == v1::JobSpec::kRunScript || kind == v1::JobSpec::kRestartService || kind == v1::JobSpec::kRollback) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat("job ", of, " (a script, a restart or a rollback) cannot be undone"));
  }
  const bool changed = kind == v1::JobSpec::kInstallArtifact
                           ? !target->target_deb().empty() && was != v1::JOB_SKIPPED && was != v1::JOB_ROLLED_BACK
                           : was == v1::JOB_SUCCEEDED || (kind == v1::JobSpec::kWriteConfig && was == v1::JOB_FAILED);
  if (!changed) {
    result->set_old_version(target->result().new_version());
    result->set_new_version(target->result().new_version());
    return Finish(rec, v1::JOB_SKIPPED, absl::StrCat("job ", of, " left nothing to undo"));
  }
  if (kind == v1::JobSpec::kAptPackage) {
    absl::StatusOr<std::string> restored = RestoreApt(*target, result);
    if (!restored.ok()) return Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
    result->set_old_version(target->result().new_version());
    result->set_new_version(*restored);
    return Finish(rec, v1::JOB_ROLLED_BACK,
                  absl::StrCat("restored ", restored->empty() ? "(removed)" : *restored, " from the repositories"));
  }
  if (kind == v1::JobSpec::kWriteConfig) {
    result->set_package(target->result().package());
    absl::StatusOr<std::string> restored = RestoreConfig(*target, result);
    if (!restored.ok()) return Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
    return Finish(rec, v1::JOB_ROLLED_BACK, absl::StrCat(*restored, " (as before job ", of, ")"));
  }
  absl::StatusOr<const PackageManager*> manager = ForKind(target->package_kind());
  if (!manager.ok()) return Finish(rec, v1::JOB_FAILED, std::string(manager.status().message()));
  const PackageManager* pm = *manager;
  absl::StatusOr<std::optional<DebState>> now = pm->State(result->package());
  const bool resumed = rec->phase() == internal::AgentJobRecord::CHANGING;
  if (!resumed) {
    result->set_old_version(now.ok() && now->has_value() ? (*now)->version : "");
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = Save(*rec); !st.ok()) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  // Already in the state before the change: after a crash mid-rollback the
  // restore is done; before any step, there is nothing to do.
  const std::string& old = target->result().old_version();
  if (AtVersion(*pm, now, old)) {
    result->set_new_version(old);
    return Finish(rec, resumed ? v1::JOB_ROLLED_BACK : v1::JOB_SKIPPED,
                  absl::StrCat(resumed ? "restored " : "already at ", old.empty() ? "(not installed)" : old));
  }
  absl::StatusOr<std::string> restored = Restore(*target, result);
  if (!restored.ok()) return Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
  result->set_new_version(*restored);
  Finish(rec, v1::JOB_ROLLED_BACK, absl::StrCat("restored ", restored->empty() ? "(removed)" : *restored));
}

void JobExecutor::RemovePackage(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const std::string& name = rec->spec().remove_package().name();
  result->set_package(name);
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<std::optional<DebState>> state = dpkg_->State(name);
    if (!state.ok()) return Finish(rec, v1::JOB_FAILED, std::string(state.status().message()));
    if (!state->has_value()) return Finish(rec, v1::JOB_SKIPPED, absl::StrCat(name, " is not installed"));
    if (!(*state)->installed()) {
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat(name, " ", (*state)->version, " is in dpkg state '", (*state)->status,
                                 "'; repair it first (dpkg --configure -a)"));
    }
    result->set_old_version((*state)->version);
    absl::StatusOr<CommandResult> check = dpkg_->CheckRemove(name);
    if (!check.ok()) return Finish(rec, v1::JOB_FAILED, std::string(check.status().message()));
    if (check->exit_code != 0) {
      result->set_new_version((*state)->version);
      AppendOutput(result, "dpkg --no-act --remove:", check->output);
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat("dpkg would not remove ", name, ": ",
                                 absl::StrContains(check->output, "dependency problems")
                                     ? "installed packages depend on it"
                                     : "see the output"));
    }
    const std::string kept = options_.state_dir + "/kept/" + FileName(name, (*state)->version, "deb");
    if (access(kept.c_str(), R_OK) == 0) rec->set_kept_deb(kept);
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = Save(*rec); !st.ok()) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  absl::StatusOr<std::optional<DebState>> now = dpkg_->State(name);
  if (!(now.ok() && !now->has_value())) {
    absl::StatusOr<CommandResult> r = dpkg_->Remove(name);
    if (!r.ok()) return Finish(rec, v1::JOB_FAILED, std::string(r.status().message()));
    result->set_exit_code(r->exit_code);
    AppendOutput(result, "dpkg --remove:", r->output);
    now = dpkg_->State(name);
  }
  if (now.ok() && !now->has_value()) {
    result->set_new_version("");
    return Finish(rec, v1::JOB_SUCCEEDED, rec->kept_deb().empty() ? "removed (no package kept: a rollback cannot reinstall it)" : "");
  }
  if (now.ok()) result->set_new_version((*now)->version);
  Finish(rec, v1::JOB_FAILED,
         absl::StrCat("dpkg could not remove ", name, " (exit ", result->exit_code(), ")",
                      now.ok() ? absl::StrCat("; dpkg now shows ", (*now)->version, " '", (*now)->status, "'") : ""));
}

void JobExecutor::RunScript(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const v1::RunScriptAction& s = rec->spec().run_script();
  result->set_package(s.argv(0));
  if (rec->phase() != internal::AgentJobRecord::RECEIVED) {
    // It may have done part of its work: running it again could repeat it.
    return Finish(rec, v1::JOB_FAILED, "the agent stopped while the script ran; it is not run again (check the "
                                       "host, then run a new job)");
  }
  rec->set_phase(internal::AgentJobRecord::CHANGING);
  if (absl::Status st = Save(*rec); !st.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
  }
  const int64_t timeout_ms = s.timeout_ms() > 0 ? s.timeout_ms() : kDefaultScriptTimeoutMs;
  absl::StatusOr<CommandResult> r =
      RunCommand({s.argv().begin(), s.argv().end()}, absl::Milliseconds(timeout_ms), kMaxOutput);
  if (!r.ok()) return Finish(rec, v1::JOB_FAILED, std::string(r.status().message()));
  result->set_exit_code(r->exit_code);
  result->set_output(r->output);
  if (r->exit_code != 0) return Finish(rec, v1::JOB_FAILED, absl::StrCat(s.argv(0), " exited ", r->exit_code));
  Finish(rec, v1::JOB_SUCCEEDED, "");
}

absl::Status JobExecutor::RestartUnit(const std::string& unit, v1::JobResult* result) {
  const std::string systemctl = FindTool("systemctl");
  if (systemctl.empty()) return absl::FailedPreconditionError("systemctl is not installed on this host");
  ASSIGN_OR_RETURN(CommandResult r, RunCommand({systemctl, "restart", "--", unit}, absl::Minutes(5)));
  result->set_exit_code(r.exit_code);
  AppendOutput(result, absl::StrCat("systemctl restart ", unit, ":"), r.output);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("systemctl restart ", unit, " exited ", r.exit_code,
                                            r.exit_code == 1 && absl::StrContains(r.output, "System has not been booted with systemd")
                                                ? " (systemd is not running on this host)"
                                                : ""));
  }
  return absl::OkStatus();
}

void JobExecutor::RestartService(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  result->set_package(rec->spec().restart_service().unit());
  // A restart is safe to repeat: a resume after a crash restarts again.
  absl::Status st = RestartUnit(rec->spec().restart_service().unit(), result);
  if (!st.ok()) return Finish(rec, v1::JOB_FAILED, std::string(st.message()));
  Finish(rec, v1::JOB_SUCCEEDED, "");
}

absl::StatusOr<std::string> JobExecutor::RestoreConfig(const internal::AgentJobRecord& change,
                                                       v1::JobResult* result) {
  const v1::WriteConfigAction& w = change.spec().write_config();
  std::string note;
  if (change.previous_existed()) {
    RETURN_IF_ERROR(WriteFileAtomic(w.path(), change.previous_content(), static_cast<int>(change.previous_mode())));
    note = absl::StrCat("restored the previous ", w.path());
  } else {
    // No previous file recorded: the job created it, or failed before it
    // looked. Only the job's own content is removed, never someone's file.
    absl::StatusOr<std::string> now = ReadFile(w.path());
    if (!now.ok() && !absl::IsNotFound(now.status())) return now.status();
    if (now.ok() && *now != w.content()) {
      return absl::StrCat("left ", w.path(), " alone: it does not hold the job's content");
    }
    if (now.ok() && unlink(w.path().c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat("cannot remove ", w.path(), ": ", strerror(errno)));
    }
    note = absl::StrCat(now.ok() ? "removed the new " : "no new ", w.path());
  }
  if (!w.restart_unit().empty()) {
    // The file is back either way; a unit that does not restart with it
    // either is reported, not hidden.
    if (absl::Status st = RestartUnit(w.restart_unit(), result); !st.ok()) {
      absl::StrAppend(&note, " (restarting it again failed too: ", st.message(), ")");
    }
  }
  return note;
}

void JobExecutor::WriteConfig(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const v1::WriteConfigAction& w = rec->spec().write_config();
  const int mode = static_cast<int>(w.mode() != 0 ? w.mode() : 0644);
  result->set_package(w.path());
  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK) {
    const std::string failure = result->message();
    absl::StatusOr<std::string> back = RestoreConfig(*rec, result);
    return Finish(rec, back.ok() ? v1::JOB_ROLLED_BACK : v1::JOB_FAILED,
                  back.ok() ? absl::StrCat(failure, "; ", *back)
                            : absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  }
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    struct stat st;
    if (stat(w.path().c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode)) return Finish(rec, v1::JOB_FAILED, absl::StrCat(w.path(), " exists and is not a file"));
      absl::StatusOr<std::string> before = ReadFile(w.path());
      if (!before.ok()) return Finish(rec, v1::JOB_FAILED, std::string(before.status().message()));
      if (*before == w.content() && static_cast<int>(st.st_mode & 07777) == mode) {
        return Finish(rec, v1::JOB_SKIPPED, absl::StrCat(w.path(), " already has this content and mode"));
      }
      rec->set_previous_existed(true);
      rec->set_previous_content(*std::move(before));
      rec->set_previous_mode(st.st_mode & 07777);
    } else if (errno != ENOENT) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot read ", w.path(), ": ", strerror(errno)));
    }
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st2 = Save(*rec); !st2.ok()) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st2.message()));
    }
  }
  // CHANGING (also on resume): writing again and restarting again are safe.
  if (absl::Status st = WriteFileAtomic(w.path(), w.content(), mode); !st.ok()) {
    return Finish(rec, v1::JOB_FAILED, std::string(st.message()));
  }
  if (w.restart_unit().empty()) return Finish(rec, v1::JOB_SUCCEEDED, "");
  absl::Status restarted = RestartUnit(w.restart_unit(), result);
  if (restarted.ok()) return Finish(rec, v1::JOB_SUCCEEDED, "");
  const std::string failure = std::string(restarted.message());
  if (!rec->spec().rollback_on_failure()) return Finish(rec, v1::JOB_FAILED, failure);
  result->set_message(failure);
  rec->set_phase(internal::AgentJobRecord::ROLLING_BACK);
  if (absl::Status st = Save(*rec); !st.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; not rolled back: cannot record the job: ", st.message()));
  }
  absl::StatusOr<std::string> back = RestoreConfig(*rec, result);
  if (!back.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  }
  Finish(rec, v1::JOB_ROLLED_BACK, absl::StrCat(failure, "; ", *back));
}

absl::StatusOr<std::string> JobExecutor::RestoreApt(const internal::AgentJobRecord& change,
                                                    v1::JobResult* result) {
  if (apt_ == nullptr) return absl::FailedPreconditionError("apt is not set up on this agent");
  const std::string& name = change.result().package();
  const std::string& old = change.result().old_version();
  if (AtVersion(*dpkg_, dpkg_->State(name), old)) return old;  // already there (a resumed rollback)
  ASSIGN_OR_RETURN(CommandResult r, old.empty() ? apt_->Remove(name) : apt_->Install(name, old, true));
  result->set_exit_code(r.exit_code);
  AppendOutput(result, old.empty() ? "apt-get remove (rollback):" : "apt-get install (rollback):", r.output);
  absl::StatusOr<std::optional<DebState>> state = dpkg_->State(name);
  RETURN_IF_ERROR(state.status());
  if (!AtVersion(*dpkg_, state, old)) {
    return absl::InternalError(absl::StrCat("apt-get could not put ", name, " back to ",
                                            old.empty() ? "not installed" : old, " (exit ", r.exit_code,
                                            "; is that version still in the repositories?)"));
  }
  return old;
}

void JobExecutor::AptPackage(internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const v1::AptPackageAction& a = rec->spec().apt_package();
  result->set_package(a.name());
  if (apt_ == nullptr) return Finish(rec, v1::JOB_FAILED, "apt is not set up on this agent");
  if (rec->phase() != internal::AgentJobRecord::RECEIVED) {
    // Resumed after a crash: the dpkg apt was running may have been cut
    // short, and apt-get refuses to work until it is finished.
    absl::StatusOr<CommandResult> fixed = dpkg_->ConfigurePending();
    if (fixed.ok() && fixed->exit_code != 0) AppendOutput(result, "dpkg --configure --pending (resume):", fixed->output);
  }
  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK) {
    const std::string failure = result->message();
    absl::StatusOr<std::string> back = RestoreApt(*rec, result);
    if (!back.ok()) return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; rollback failed: ", back.status().message()));
    result->set_new_version(*back);
    return Finish(rec, v1::JOB_ROLLED_BACK,
                  absl::StrCat(failure, "; rolled back to ", back->empty() ? "not installed" : *back));
  }
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<std::optional<DebState>> state = dpkg_->State(a.name());
    if (!state.ok()) return Finish(rec, v1::JOB_FAILED, std::string(state.status().message()));
    if (state->has_value() && !(*state)->installed()) {
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat(a.name(), " ", (*state)->version, " is in dpkg state '", (*state)->status,
                                 "'; repair it first (dpkg --configure -a)"));
    }
    const std::string old = state->has_value() ? (*state)->version : "";
    result->set_old_version(old);
    if (a.remove() && old.empty()) return Finish(rec, v1::JOB_SKIPPED, absl::StrCat(a.name(), " is not installed"));
    if (!a.remove() && !a.version().empty() && !old.empty() && CompareDpkgVersionStrings(old, a.version()) == 0) {
      result->set_new_version(old);
      return Finish(rec, v1::JOB_SKIPPED, absl::StrCat("already at ", old));
    }
    if (!a.remove()) {
      absl::StatusOr<CommandResult> updated = apt_->Update();
      if (!updated.ok()) return Finish(rec, v1::JOB_FAILED, std::string(updated.status().message()));
      if (updated->exit_code != 0) AppendOutput(result, "apt-get update (failed; using the lists as they are):", updated->output);
    }
    absl::StatusOr<AptPlan> plan = a.remove() ? apt_->SimulateRemove(a.name())
                                              : apt_->SimulateInstall(a.name(), a.version(), true);
    if (!plan.ok()) return Finish(rec, v1::JOB_FAILED, std::string(plan.status().message()));
    if (plan->raw.exit_code != 0) {
      AppendOutput(result, "apt-get -s:", plan->raw.output);
      std::string why;
      for (absl::string_view line : absl::StrSplit(plan->raw.output, '\n')) {
        if (absl::StartsWith(line, "E: ")) {
          why = std::string(line.substr(3));
          break;
        }
      }
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("apt-get refuses: ", why.empty() ? "see the output" : why));
    }
    std::vector<std::string> others;
    for (const std::string& r : plan->removals) {
      if (r != a.name()) others.push_back(r);
    }
    if (!others.empty()) {
      AppendOutput(result, "apt-get -s:", plan->raw.output);
      return Finish(rec, v1::JOB_FAILED,
                    absl::StrCat("the change would remove other packages (", absl::StrJoin(others, ", "),
                                 "); not done"));
    }
    std::string target;
    if (!a.remove()) {
      for (const auto& [name, version] : plan->installs) {
        if (name == a.name()) target = version;
      }
      if (target.empty()) {
        result->set_new_version(old);
        return Finish(rec, v1::JOB_SKIPPED, absl::StrCat("already at the newest version (", old, ")"));
      }
    }
    result->set_new_version(target);
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = Save(*rec); !st.ok()) {
      return Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  // CHANGING (also on resume): done when dpkg shows the target.
  const std::string target = result->new_version();
  absl::StatusOr<std::optional<DebState>> now = dpkg_->State(a.name());
  if (!AtVersion(*dpkg_, now, target)) {
    absl::StatusOr<CommandResult> r = a.remove() ? apt_->Remove(a.name()) : apt_->Install(a.name(), target, true);
    if (!r.ok()) {
      AppendOutput(result, "apt-get:", std::string(r.status().message()));
    } else {
      result->set_exit_code(r->exit_code);
      AppendOutput(result, a.remove() ? "apt-get remove:" : "apt-get install:", r->output);
    }
    now = dpkg_->State(a.name());
  }
  if (AtVersion(*dpkg_, now, target)) return Finish(rec, v1::JOB_SUCCEEDED, "");
  const std::string failure =
      absl::StrCat("apt-get could not ", a.remove() ? "remove " : "install ", a.name(),
                   a.remove() ? "" : absl::StrCat(" ", target), " (exit ", result->exit_code(), ")",
                   now.ok() && now->has_value()
                       ? absl::StrCat("; dpkg now shows ", (*now)->version, " '", (*now)->status, "'")
                       : "");
  if (!rec->spec().rollback_on_failure()) {
    if (now.ok() && now->has_value()) result->set_new_version((*now)->version);
    return Finish(rec, v1::JOB_FAILED, failure);
  }
  result->set_message(failure);
  rec->set_phase(internal::AgentJobRecord::ROLLING_BACK);
  if (absl::Status st = Save(*rec); !st.ok()) {
    return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; not rolled back: cannot record the job: ", st.message()));
  }
  absl::StatusOr<std::string> back = RestoreApt(*rec, result);
  if (!back.ok()) return Finish(rec, v1::JOB_FAILED, absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  result->set_new_version(*back);
  Finish(rec, v1::JOB_ROLLED_BACK, absl::StrCat(failure, "; rolled back to ", back->empty() ? "not installed" : *back));
}

absl::StatusOr<const PackageManager*> JobExecutor::ForKind(const std::string& kind) const {
  if (kind == "rpm") {
    if (rpm_ == nullptr) return absl::FailedPreconditionError("this agent does not manage rpm packages");
    return rpm_;
  }
  return dpkg_;  // "deb", and records written before kinds were stored
}

absl::StatusOr<std::vector<std::string>> JobExecutor::JobIds() const {
  absl::StatusOr<std::vector<std::string>> names = ListDir(options_.state_dir + "/jobs");
  if (absl::IsNotFound(names.status())) return std::vector<std::string>();
  if (!names.ok()) return names.status();
  // Skip hidden names and WriteFileAtomic's leftovers (<id>.tmp.<pid>).
  std::erase_if(*names, [](const std::string& n) { return n.starts_with('.') || absl::StrContains(n, ".tmp."); });
  return names;
}

std::vector<v1::JobSpec> JobExecutor::Unfinished() const {
  std::vector<v1::JobSpec> out;
  const int64_t now = now_ms_();
  absl::StatusOr<std::vector<std::string>> ids = JobIds();
  if (!ids.ok()) {
    spdlog::error("jobs: nothing resumed: {}", ids.status().ToString());
    return out;
  }
  for (const std::string& id : *ids) {
    auto rec = Load(id);
    if (!rec.ok()) continue;
    if (rec->phase() != internal::AgentJobRecord::DONE) {
      out.push_back(rec->spec());
    } else if (options_.compact_after_ms > 0 && !rec->compacted() && rec->result().finished_ms() > 0 &&
               now - rec->result().finished_ms() > options_.compact_after_ms) {
      rec->mutable_result()->clear_output();
      rec->clear_previous_content();
      if (rec->spec().has_write_config()) rec->mutable_spec()->mutable_write_config()->clear_content();
      rec->set_compacted(true);
      if (absl::Status st = Save(*rec); !st.ok()) spdlog::warn("job {}: cannot compact its record: {}", id, st.ToString());
    }
  }
  PruneKept();
  return out;
}

size_t JobExecutor::PruneKept() const {
  const std::string kept_dir = options_.state_dir + "/kept";
  absl::StatusOr<std::vector<std::string>> files = ListDir(kept_dir);
  if (!files.ok() || files->empty()) return 0;  // nothing kept (or nothing that can be listed)
  absl::StatusOr<std::vector<std::string>> ids = JobIds();
  if (!ids.ok()) {
    spdlog::warn("kept packages: not pruned: {}", ids.status().ToString());
    return 0;
  }
  auto base = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };
  std::set<std::string> needed;                            // file names in kept/
  std::set<std::pair<std::string, std::string>> packages;  // (name, kind) jobs changed
  for (const std::string& id : *ids) {
    absl::StatusOr<internal::AgentJobRecord> rec = Load(id);
    if (!rec.ok()) {
      spdlog::warn("kept packages: not pruned, job record {} cannot be read: {}", id,
                   rec.status().ToString());
      return 0;
    }
    if (!rec->compacted() && !rec->kept_deb().empty()) needed.insert(base(rec->kept_deb()));
    const v1::JobSpec::ActionCase kind = rec->spec().action_case();
    if (kind == v1::JobSpec::kRollback && rec->phase() != internal::AgentJobRecord::DONE &&
        IsValidJobId(rec->spec().rollback().of_job_id())) {
      // An accepted rollback not finished yet (resumes at start): its
      // target's package stays, compacted or not.
      absl::StatusOr<internal::AgentJobRecord> target = Load(rec->spec().rollback().of_job_id());
      if (target.ok() && !target->kept_deb().empty()) needed.insert(base(target->kept_deb()));
    }
    if ((kind == v1::JobSpec::kInstallArtifact || kind == v1::JobSpec::kRemovePackage) &&
        !rec->result().package().empty()) {
      packages.emplace(rec->result().package(),
                       rec->package_kind().empty() ? "deb" : rec->package_kind());
    }
  }
  std::vector<std::string> unclear;  // "NAME_" of packages whose state is unclear
  for (const auto& [name, kind] : packages) {
    absl::StatusOr<const PackageManager*> pm = ForKind(kind);
    if (!pm.ok()) {
      spdlog::warn("kept packages: not pruned, cannot see what is installed of {}: {}", name,
                   pm.status().ToString());
      return 0;
    }
    absl::StatusOr<std::optional<DebState>> state = (*pm)->State(name);
    if (!state.ok() || (state->has_value() && !(*state)->installed())) {
      spdlog::warn("kept packages: those of {} not pruned, its state is unclear ({})", name,
                   state.ok() ? (*state)->status : state.status().ToString());
      unclear.push_back(name + "_");
      continue;
    }
    if (state->has_value()) needed.insert(FileName(name, (*state)->version, (*pm)->Kind()));
  }
  size_t removed = 0;
  for (const std::string& f : *files) {
    if (f.starts_with('.') || needed.count(f) != 0) continue;
    // FileName's "NAME_": a package name may hold '_' (rpm), so this may
    // keep more than that package's files, never fewer.
    if (std::any_of(unclear.begin(), unclear.end(), [&](const std::string& p) { return f.starts_with(p); })) continue;
    if (unlink((kept_dir + "/" + f).c_str()) == 0) {
      spdlog::info("kept packages: removed {} (no job can restore it any more)", f);
      ++removed;
    } else if (errno != ENOENT) {
      spdlog::warn("kept packages: cannot remove {}: {}", f, std::strerror(errno));
    }
  }
  return removed;
}

}  // namespace steward::agent
