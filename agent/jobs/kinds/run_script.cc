// run_script: a program with its arguments, no shell, bounded in time and
// output; never run a second time after a crash.
#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/exec/tool_runner.h"
#include "common/jobs/job_spec.h"

namespace steward::agent {

void RunScript(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const v1::RunScriptAction& s = rec->spec().run_script();
  result->set_package(s.argv(0));
  if (rec->phase() != internal::AgentJobRecord::RECEIVED) {
    // It may have done part of its work: running it again could repeat it.
    return ctx.Finish(rec, v1::JOB_FAILED,
                      "the agent stopped while the script ran; it is not run again (check the "
                      "host, then run a new job)");
  }
  rec->set_phase(internal::AgentJobRecord::CHANGING);
  if (absl::Status st = ctx.Save(*rec); !st.ok()) {
    return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("cannot record the job: ", st.message()));
  }
  const int64_t timeout_ms = s.timeout_ms() > 0 ? s.timeout_ms() : kDefaultScriptTimeoutMs;
  absl::StatusOr<CommandResult> r =
      RunCommand({s.argv().begin(), s.argv().end()}, absl::Milliseconds(timeout_ms), kMaxJobOutput);
  if (!r.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(r.status().message()));
  result->set_exit_code(r->exit_code);
  result->set_output(r->output);
  if (r->exit_code != 0)
    return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat(s.argv(0), " exited ", r->exit_code));
  ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
}

}  // namespace steward::agent
