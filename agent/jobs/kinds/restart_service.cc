// restart_service: systemctl restart UNIT (safe to repeat after a crash).
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/exec/tool_runner.h"
#include "common/status_macros.h"

namespace steward::agent {

absl::Status RestartUnit(const std::string& unit, v1::JobResult* result) {
  const std::string systemctl = FindTool("systemctl");
  if (systemctl.empty())
    return absl::FailedPreconditionError("systemctl is not installed on this host");
  ASSIGN_OR_RETURN(CommandResult r,
                   RunCommand({systemctl, "restart", "--", unit}, absl::Minutes(5)));
  RecordExitCode(result, r.exit_code);
  AppendOutput(result, absl::StrCat("systemctl restart ", unit, ":"), r.output);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        "systemctl restart ", unit, " exited ", r.exit_code,
        r.exit_code == 1 && absl::StrContains(r.output, "System has not been booted with systemd")
            ? " (systemd is not running on this host)"
            : ""));
  }
  return absl::OkStatus();
}

void RunRestartService(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  result->set_package(rec->spec().restart_service().unit());
  // A restart is safe to repeat: a resume after a crash restarts again.
  absl::Status st = RestartUnit(rec->spec().restart_service().unit(), result);
  if (!st.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(st.message()));
  ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
}

}  // namespace steward::agent
