// remove_package: dpkg --remove, after dpkg --no-act says nothing depends
// on it; the package of the removed version is kept when the agent
// installed it, so a rollback job can reinstall it (RollBackPackageChange).
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"

namespace steward::agent {

void RunRemovePackage(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const std::string& name = rec->spec().remove_package().name();
  result->set_package(name);
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<std::optional<DebState>> state = ctx.dpkg->State(name);
    if (!state.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(state.status().message()));
    if (!state->has_value())
      return ctx.Finish(rec, v1::JOB_SKIPPED, absl::StrCat(name, " is not installed"));
    if (!(*state)->installed()) {
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat(name, " ", (*state)->version, " is in dpkg state '",
                                     (*state)->status, "'; repair it first (dpkg --configure -a)"));
    }
    result->set_old_version((*state)->version);
    absl::StatusOr<CommandResult> check = ctx.dpkg->CheckRemove(name);
    if (!check.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(check.status().message()));
    if (check->exit_code != 0) {
      result->set_new_version((*state)->version);
      AppendOutput(result, "dpkg --no-act --remove:", check->output);
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("dpkg would not remove ", name, ": ",
                                     absl::StrContains(check->output, "dependency problems")
                                         ? "installed packages depend on it"
                                         : "see the output"));
    }
    const std::string kept =
        ctx.options.state_dir + "/kept/" + KeptFileName(name, (*state)->version, "deb");
    if (access(kept.c_str(), R_OK) == 0) rec->set_kept_deb(kept);
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st = ctx.Save(*rec); !st.ok()) {
      return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
    }
  }
  absl::StatusOr<std::optional<DebState>> now = ctx.dpkg->State(name);
  if (!(now.ok() && !now->has_value())) {
    absl::StatusOr<CommandResult> r = ctx.dpkg->Remove(name);
    if (!r.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(r.status().message()));
    result->set_exit_code(r->exit_code);
    AppendOutput(result, "dpkg --remove:", r->output);
    now = ctx.dpkg->State(name);
  }
  if (now.ok() && !now->has_value()) {
    result->set_new_version("");
    return ctx.Finish(
        rec, v1::JOB_SUCCEEDED,
        rec->kept_deb().empty() ? "removed (no package kept: a rollback cannot reinstall it)" : "");
  }
  if (now.ok()) result->set_new_version((*now)->version);
  ctx.Finish(rec, v1::JOB_FAILED,
             absl::StrCat("dpkg could not remove ", name, " (exit ", result->exit_code(), ")",
                          now.ok() ? absl::StrCat("; dpkg now shows ", (*now)->version, " '",
                                                  (*now)->status, "'")
                                   : ""));
}

}  // namespace steward::agent
