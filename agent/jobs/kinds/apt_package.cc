// apt_package: install, upgrade, downgrade or remove a package from the
// host's apt repositories; undone from the repositories (rollback_on_failure
// and RollBackAptPackage). Every apt-get that changes the host, forward or
// back, runs only after `apt-get -s` shows it removes no other package.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/status_macros.h"
#include "common/version/dpkg_version.h"

namespace steward::agent {

namespace {

// The first "E: " line apt-get printed, or a pointer to the output.
std::string AptError(const std::string& output) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, "E: ")) return std::string(line.substr(3));
  }
  return "see the output";
}

// Whether an apt-get -s `plan` for NAME may be carried out: apt-get accepts
// it and it removes no package but NAME (apt would otherwise take along
// whatever depends on the version that goes). FailedPrecondition saying
// why, with the simulation in the output, when not.
absl::Status CheckAptPlan(const AptPlan& plan, const std::string& name, v1::JobResult* result) {
  if (plan.raw.exit_code != 0) {
    AppendOutput(result, "apt-get -s:", plan.raw.output);
    return absl::FailedPreconditionError(
        absl::StrCat("apt-get refuses: ", AptError(plan.raw.output)));
  }
  std::vector<std::string> others;
  for (const std::string& r : plan.removals) {
    if (r != name) others.push_back(r);
  }
  if (others.empty()) return absl::OkStatus();
  AppendOutput(result, "apt-get -s:", plan.raw.output);
  return absl::FailedPreconditionError(absl::StrCat("the change would remove other packages (",
                                                    absl::StrJoin(others, ", "), "); not done"));
}

// apt-get install NAME=VERSION (remove NAME when VERSION is empty and
// `remove`), simulated first and refused by CheckAptPlan: every apt change,
// forward or back, goes through here. The command's result otherwise.
absl::StatusOr<CommandResult> CheckedAptChange(const JobContext& ctx, const std::string& name,
                                               const std::string& version, bool remove,
                                               absl::string_view what, v1::JobResult* result) {
  ASSIGN_OR_RETURN(AptPlan plan, remove ? ctx.apt->SimulateRemove(name)
                                        : ctx.apt->SimulateInstall(name, version, true));
  RETURN_IF_ERROR(CheckAptPlan(plan, name, result));
  return ctx.ChangeHost(
      what, [&] { return remove ? ctx.apt->Remove(name) : ctx.apt->Install(name, version, true); });
}

// apt to the version before `change` (or removal when it was new).
absl::StatusOr<std::string> RestoreApt(const JobContext& ctx,
                                       const internal::AgentJobRecord& change,
                                       v1::JobResult* result) {
  if (ctx.apt == nullptr) return absl::FailedPreconditionError("apt is not set up on this agent");
  const std::string& name = change.result().package();
  const std::string& old = change.result().old_version();
  if (AtVersion(*ctx.dpkg, ctx.dpkg->State(name), old))
    return old;  // already there (a resumed rollback)
  const char* what = old.empty() ? "apt-get remove (rollback)" : "apt-get install (rollback)";
  ASSIGN_OR_RETURN(CommandResult r, CheckedAptChange(ctx, name, old, old.empty(), what, result));
  RecordExitCode(result, r.exit_code);
  AppendOutput(result, absl::StrCat(what, ":"), r.output);
  absl::StatusOr<std::optional<DebState>> state = ctx.dpkg->State(name);
  RETURN_IF_ERROR(state.status());
  if (!AtVersion(*ctx.dpkg, state, old)) {
    return absl::InternalError(absl::StrCat(
        "apt-get could not put ", name, " back to ", old.empty() ? "not installed" : old, " (exit ",
        r.exit_code, "; is that version still in the repositories?)"));
  }
  return old;
}

// rollback_on_failure (phase ROLLING_BACK): back to old_version.
void FinishAptRollback(const JobContext& ctx, internal::AgentJobRecord* rec,
                       const std::string& failure) {
  v1::JobResult* result = rec->mutable_result();
  absl::StatusOr<std::string> back = RestoreApt(ctx, *rec, result);
  if (!back.ok())
    return ctx.Finish(rec, v1::JOB_FAILED,
                      absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  result->set_new_version(*back);
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat(failure, "; rolled back to ", back->empty() ? "not installed" : *back));
}

}  // namespace

void RunAptPackage(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const v1::AptPackageAction& a = rec->spec().apt_package();
  result->set_package(a.name());
  if (ctx.apt == nullptr) return ctx.Finish(rec, v1::JOB_FAILED, "apt is not set up on this agent");
  if (rec->phase() != internal::AgentJobRecord::RECEIVED) {
    // Resumed after a crash: the dpkg apt was running may have been cut
    // short, and apt-get refuses to work until it is finished.
    absl::StatusOr<CommandResult> fixed =
        ctx.ChangeHost("dpkg --configure --pending", [&] { return ctx.dpkg->ConfigurePending(); });
    if (fixed.ok() && fixed->exit_code != 0)
      AppendOutput(result, "dpkg --configure --pending (resume):", fixed->output);
  }
  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK)
    return FinishAptRollback(ctx, rec, result->message());
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<std::optional<DebState>> state = ctx.dpkg->State(a.name());
    if (!state.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(state.status().message()));
    if (state->has_value() && !(*state)->installed()) {
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat(a.name(), " ", (*state)->version, " is in dpkg state '",
                                     (*state)->status, "'; repair it first (dpkg --configure -a)"));
    }
    const std::string old = state->has_value() ? (*state)->version : "";
    result->set_old_version(old);
    if (a.remove() && old.empty())
      return ctx.Finish(rec, v1::JOB_SKIPPED, absl::StrCat(a.name(), " is not installed"));
    if (!a.remove() && !a.version().empty() && !old.empty() &&
        CompareDpkgVersionStrings(old, a.version()) == 0) {
      result->set_new_version(old);
      return ctx.Finish(rec, v1::JOB_SKIPPED, absl::StrCat("already at ", old));
    }
    if (!a.remove()) {
      absl::StatusOr<CommandResult> updated = ctx.apt->Update();
      if (!updated.ok())
        return ctx.Finish(rec, v1::JOB_FAILED, std::string(updated.status().message()));
      if (updated->exit_code != 0)
        AppendOutput(result,
                     "apt-get update (failed; using the lists as they are):", updated->output);
    }
    absl::StatusOr<AptPlan> plan = a.remove()
                                       ? ctx.apt->SimulateRemove(a.name())
                                       : ctx.apt->SimulateInstall(a.name(), a.version(), true);
    if (!plan.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(plan.status().message()));
    if (absl::Status allowed = CheckAptPlan(*plan, a.name(), result); !allowed.ok())
      return ctx.Finish(rec, v1::JOB_FAILED, std::string(allowed.message()));
    std::string target;
    if (!a.remove()) {
      for (const auto& [name, version] : plan->installs) {
        if (name == a.name()) target = version;
      }
      if (target.empty()) {
        result->set_new_version(old);
        return ctx.Finish(rec, v1::JOB_SKIPPED,
                          absl::StrCat("already at the newest version (", old, ")"));
      }
    }
    result->set_new_version(target);
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = ctx.Save(*rec); !st.ok()) {
      return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  // CHANGING (also on resume): done when dpkg shows the target.
  const std::string target = result->new_version();
  absl::StatusOr<std::optional<DebState>> now = ctx.dpkg->State(a.name());
  std::string refused;  // why apt-get was not run, when it was not
  if (!AtVersion(*ctx.dpkg, now, target)) {
    absl::StatusOr<CommandResult> r =
        CheckedAptChange(ctx, a.name(), target, a.remove(),
                         a.remove() ? "apt-get remove" : "apt-get install", result);
    if (!r.ok()) {
      refused = std::string(r.status().message());
    } else {
      result->set_exit_code(r->exit_code);
      AppendOutput(result, a.remove() ? "apt-get remove:" : "apt-get install:", r->output);
    }
    now = ctx.dpkg->State(a.name());
  }
  if (AtVersion(*ctx.dpkg, now, target)) return ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
  const std::string failure = absl::StrCat(
      "apt-get could not ", a.remove() ? "remove " : "install ", a.name(),
      a.remove() ? "" : absl::StrCat(" ", target),
      refused.empty() ? absl::StrCat(" (exit ", result->exit_code(), ")") : ": " + refused,
      now.ok() && now->has_value()
          ? absl::StrCat("; dpkg now shows ", (*now)->version, " '", (*now)->status, "'")
          : "");
  if (!rec->spec().rollback_on_failure()) {
    if (now.ok() && now->has_value()) result->set_new_version((*now)->version);
    return ctx.Finish(rec, v1::JOB_FAILED, failure);
  }
  if (!ctx.BeginRollback(rec, failure)) return;
  FinishAptRollback(ctx, rec, failure);
}

bool AptPackageChanged(const internal::AgentJobRecord& target) {
  // A failed job changed the host when apt-get ran (its exit code is
  // recorded): it may have left a half-configured package or other
  // packages changed, and its rollback puts the package back.
  const v1::JobStatus was = target.result().status();
  return was == v1::JOB_SUCCEEDED || (was == v1::JOB_FAILED && target.result().exit_code() >= 0);
}

void RollBackAptPackage(const JobContext& ctx, const internal::AgentJobRecord& target,
                        internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const std::string& name = target.result().package();
  const std::string& old = target.result().old_version();
  const bool resumed = rec->phase() == internal::AgentJobRecord::CHANGING;
  absl::StatusOr<std::optional<DebState>> now = ctx.dpkg->State(name);
  if (!resumed) {
    result->set_old_version(now.ok() && now->has_value() ? (*now)->version : "");
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = ctx.Save(*rec); !st.ok()) {
      return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  // Already as before the change: after a crash mid-rollback the restore
  // is done; before any step, there is nothing to undo.
  if (AtVersion(*ctx.dpkg, now, old)) {
    result->set_new_version(old);
    return ctx.Finish(
        rec, resumed ? v1::JOB_ROLLED_BACK : v1::JOB_SKIPPED,
        absl::StrCat(resumed ? "restored " : "already at ", old.empty() ? "(not installed)" : old));
  }
  absl::StatusOr<std::string> restored = RestoreApt(ctx, target, result);
  if (!restored.ok()) {
    if (now.ok()) result->set_new_version(now->has_value() ? (*now)->version : "");
    return ctx.Finish(
        rec, v1::JOB_FAILED,
        absl::StrCat("not rolled back: ", restored.status().message(), "; ", name, " stays at ",
                     result->new_version().empty() ? "(not installed)" : result->new_version()));
  }
  result->set_new_version(*restored);
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat("restored ", restored->empty() ? "(removed)" : *restored,
                          " from the repositories"));
}

}  // namespace steward::agent
