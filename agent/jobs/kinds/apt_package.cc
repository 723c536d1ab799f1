// apt_package: install, upgrade, downgrade or remove a package from the
// host's apt repositories, after `apt-get -s` shows the change removes no
// other package; undone from the repositories (RollBackAptPackage).
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/status_macros.h"
#include "common/version/dpkg_version.h"

namespace steward::agent {

namespace {

// apt to the version before `change` (or removal when it was new).
absl::StatusOr<std::string> RestoreApt(const JobContext& ctx,
                                       const internal::AgentJobRecord& change,
                                       v1::JobResult* result) {
  if (ctx.apt == nullptr) return absl::FailedPreconditionError("apt is not set up on this agent");
  const std::string& name = change.result().package();
  const std::string& old = change.result().old_version();
  if (AtVersion(*ctx.dpkg, ctx.dpkg->State(name), old))
    return old;  // already there (a resumed rollback)
  ASSIGN_OR_RETURN(CommandResult r,
                   old.empty() ? ctx.apt->Remove(name) : ctx.apt->Install(name, old, true));
  result->set_exit_code(r.exit_code);
  AppendOutput(
      result, old.empty() ? "apt-get remove (rollback):" : "apt-get install (rollback):", r.output);
  absl::StatusOr<std::optional<DebState>> state = ctx.dpkg->State(name);
  RETURN_IF_ERROR(state.status());
  if (!AtVersion(*ctx.dpkg, state, old)) {
    return absl::InternalError(absl::StrCat(
        "apt-get could not put ", name, " back to ", old.empty() ? "not installed" : old, " (exit ",
        r.exit_code, "; is that version still in the repositories?)"));
  }
  return old;
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
    absl::StatusOr<CommandResult> fixed = ctx.dpkg->ConfigurePending();
    if (fixed.ok() && fixed->exit_code != 0)
      AppendOutput(result, "dpkg --configure --pending (resume):", fixed->output);
  }
  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK) {
    const std::string failure = result->message();
    absl::StatusOr<std::string> back = RestoreApt(ctx, *rec, result);
    if (!back.ok())
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat(failure, "; rollback failed: ", back.status().message()));
    result->set_new_version(*back);
    return ctx.Finish(
        rec, v1::JOB_ROLLED_BACK,
        absl::StrCat(failure, "; rolled back to ", back->empty() ? "not installed" : *back));
  }
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
    if (plan->raw.exit_code != 0) {
      AppendOutput(result, "apt-get -s:", plan->raw.output);
      std::string why;
      for (absl::string_view line : absl::StrSplit(plan->raw.output, '\n')) {
        if (absl::StartsWith(line, "E: ")) {
          why = std::string(line.substr(3));
          break;
        }
      }
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("apt-get refuses: ", why.empty() ? "see the output" : why));
    }
    std::vector<std::string> others;
    for (const std::string& r : plan->removals) {
      if (r != a.name()) others.push_back(r);
    }
    if (!others.empty()) {
      AppendOutput(result, "apt-get -s:", plan->raw.output);
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("the change would remove other packages (",
                                     absl::StrJoin(others, ", "), "); not done"));
    }
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
  if (!AtVersion(*ctx.dpkg, now, target)) {
    absl::StatusOr<CommandResult> r =
        a.remove() ? ctx.apt->Remove(a.name()) : ctx.apt->Install(a.name(), target, true);
    if (!r.ok()) {
      AppendOutput(result, "apt-get:", std::string(r.status().message()));
    } else {
      result->set_exit_code(r->exit_code);
      AppendOutput(result, a.remove() ? "apt-get remove:" : "apt-get install:", r->output);
    }
    now = ctx.dpkg->State(a.name());
  }
  if (AtVersion(*ctx.dpkg, now, target)) return ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
  const std::string failure = absl::StrCat(
      "apt-get could not ", a.remove() ? "remove " : "install ", a.name(),
      a.remove() ? "" : absl::StrCat(" ", target), " (exit ", result->exit_code(), ")",
      now.ok() && now->has_value()
          ? absl::StrCat("; dpkg now shows ", (*now)->version, " '", (*now)->status, "'")
          : "");
  if (!rec->spec().rollback_on_failure()) {
    if (now.ok() && now->has_value()) result->set_new_version((*now)->version);
    return ctx.Finish(rec, v1::JOB_FAILED, failure);
  }
  if (!ctx.BeginRollback(rec, failure)) return;
  absl::StatusOr<std::string> back = RestoreApt(ctx, *rec, result);
  if (!back.ok())
    return ctx.Finish(rec, v1::JOB_FAILED,
                      absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  result->set_new_version(*back);
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat(failure, "; rolled back to ", back->empty() ? "not installed" : *back));
}

void RollBackAptPackage(const JobContext& ctx, const internal::AgentJobRecord& target,
                        internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  absl::StatusOr<std::string> restored = RestoreApt(ctx, target, result);
  if (!restored.ok())
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
  result->set_old_version(target.result().new_version());
  result->set_new_version(*restored);
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat("restored ", restored->empty() ? "(removed)" : *restored,
                          " from the repositories"));
}

}  // namespace steward::agent
