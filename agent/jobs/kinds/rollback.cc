// rollback: undo a finished job of this host, with what that job's kind
// recorded (a kept package, the repositories' old version, the previous
// file). Scripts, restarts and rollbacks cannot be undone.
#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/job_id.h"

namespace steward::agent {

void RunRollback(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const std::string& of = rec->spec().rollback().of_job_id();
  absl::StatusOr<internal::AgentJobRecord> target =
      IsValidJobId(of) ? ctx.Load(of) : absl::InvalidArgumentError("bad job id");
  if (!target.ok()) {
    return ctx.Finish(rec, v1::JOB_FAILED,
                      absl::StrCat("no job '", of, "' on this host to roll back"));
  }
  result->set_package(target->result().package());
  if (target->phase() != internal::AgentJobRecord::DONE) {
    return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat("job ", of, " has not finished"));
  }
  const AgentJobKind* kind = FindAgentJobKind(target->spec().action_case());
  if (kind != nullptr && kind->undo_needs_full_record && target->compacted()) {
    return ctx.Finish(
        rec, v1::JOB_FAILED,
        absl::StrCat("job ", of,
                     " finished too long ago: what its rollback needs is no longer kept"));
  }
  if (kind == nullptr || kind->roll_back == nullptr) {
    return ctx.Finish(
        rec, v1::JOB_FAILED,
        absl::StrCat("job ", of, " (a script, a restart or a rollback) cannot be undone"));
  }
  if (!kind->changed(*target)) {
    result->set_old_version(target->result().new_version());
    result->set_new_version(target->result().new_version());
    return ctx.Finish(rec, v1::JOB_SKIPPED, absl::StrCat("job ", of, " left nothing to undo"));
  }
  kind->roll_back(ctx, *target, rec);
}

}  // namespace steward::agent
