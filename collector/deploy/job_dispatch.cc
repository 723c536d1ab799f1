#include "collector/deploy/job_dispatch.h"

#include "absl/strings/str_cat.h"
#include "collector/service/session_registry.h"
#include "collector/storage/store.h"
#include "common/job_id.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

absl::StatusOr<v1::Job> DispatchJob(Store& store, SessionRegistry& sessions, v1::Job job) {
  if (!IsValidJobId(job.spec().job_id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("job id '", job.spec().job_id().substr(0, 140), "' must be ", kJobIdRule));
  }
  job.mutable_result()->set_job_id(job.spec().job_id());
  job.mutable_result()->set_status(v1::JOB_PENDING);
  RETURN_IF_ERROR(store.CreateJob(job));
  const bool sent = sessions.PushJob(job.agent_id(), job.spec());
  spdlog::info("job {} for agent {} created by {} ({})", job.spec().job_id(), job.agent_id(), job.created_by(),
               sent ? "sent" : "the agent gets it when it connects");
  return job;
}

}  // namespace steward::collector
