#include "agent/jobs/job_context.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::agent {

void AppendOutput(v1::JobResult* result, const std::string& header, const std::string& output) {
  std::string* out = result->mutable_output();
  absl::StrAppend(out, out->empty() ? "" : "\n", header, "\n", output);
  if (out->size() > kMaxJobOutput) out->erase(0, out->size() - kMaxJobOutput);
}

void RecordExitCode(v1::JobResult* result, int exit_code) {
  if (result->exit_code() <= 0) result->set_exit_code(exit_code);
}

std::string KeptFileName(const std::string& name, const std::string& version,
                         const std::string& kind) {
  absl::string_view v = version;
  if (const size_t colon = v.find(':');
      colon != absl::string_view::npos && colon > 0 &&
      v.substr(0, colon).find_first_not_of('0') == absl::string_view::npos) {
    v.remove_prefix(colon + 1);
  }
  // ':' (other epochs) is fine in file names; '/' cannot be in either.
  return absl::StrCat(name, "_", v, ".", kind);
}

std::string ToolOf(const PackageManager& pm) { return pm.Kind() == "rpm" ? "rpm" : "dpkg"; }

bool AtVersion(const PackageManager& pm, const absl::StatusOr<std::optional<DebState>>& state,
               const std::string& version) {
  if (!state.ok()) return false;
  if (version.empty()) return !state->has_value();
  return state->has_value() && (*state)->installed() &&
         pm.CompareVersions((*state)->version, version) == 0;
}

std::string JobContext::RecordPath(const std::string& job_id) const {
  return options.state_dir + "/jobs/" + job_id;
}

std::string JobContext::KeptPath(const std::string& name, const std::string& version,
                                 const std::string& kind) const {
  return options.state_dir + "/kept/" + KeptFileName(name, version, kind);
}

absl::Status JobContext::Save(const internal::AgentJobRecord& rec) const {
  CrashPoint(absl::StrCat("record ", internal::AgentJobRecord::Phase_Name(rec.phase())));
  RETURN_IF_ERROR(MakeDirs(options.state_dir + "/jobs", 0700));
  return WriteFileAtomic(RecordPath(rec.spec().job_id()), rec.SerializeAsString(), 0600);
}

absl::StatusOr<internal::AgentJobRecord> JobContext::Load(const std::string& job_id) const {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(RecordPath(job_id)));
  internal::AgentJobRecord rec;
  if (!rec.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat(RecordPath(job_id), " is damaged"));
  }
  return rec;
}

bool JobContext::BeginRollback(internal::AgentJobRecord* rec, const std::string& failure) const {
  rec->mutable_result()->set_message(failure);
  rec->set_phase(internal::AgentJobRecord::ROLLING_BACK);
  if (absl::Status st = Save(*rec); !st.ok()) {
    Finish(rec, v1::JOB_FAILED,
           absl::StrCat(failure, "; not rolled back: cannot record the job: ", st.message()));
    return false;
  }
  return true;
}

void JobContext::Finish(internal::AgentJobRecord* rec, v1::JobStatus status,
                        const std::string& message) const {
  v1::JobResult* r = rec->mutable_result();
  r->set_status(status);
  r->set_message(message);
  r->set_finished_ms(now_ms());
  rec->set_phase(internal::AgentJobRecord::DONE);
  // Unsaved, the job would be resumed at the next start: try hard. (A
  // resume is still safe: each phase checks the host's state first.)
  absl::Status st = Save(*rec);
  for (int attempt = 1; !st.ok() && attempt < 5; ++attempt) {
    spdlog::error("job {}: cannot record its result (attempt {}): {}", rec->spec().job_id(),
                  attempt, st.ToString());
    usleep(200'000 * attempt);
    st = Save(*rec);
  }
  // Recorded, not yet reported: a crash here answers the job from its record.
  CrashPoint("recorded DONE");
  spdlog::info("job {}: {} {} {} -> {}{}{}", rec->spec().job_id(), v1::JobStatus_Name(status),
               r->package(), r->old_version().empty() ? "(none)" : r->old_version(),
               r->new_version().empty() ? "(none)" : r->new_version(), message.empty() ? "" : ": ",
               message);
}

absl::StatusOr<const PackageManager*> JobContext::ForKind(const std::string& kind) const {
  if (kind == "rpm") {
    if (rpm == nullptr)
      return absl::FailedPreconditionError("this agent does not manage rpm packages");
    return rpm;
  }
  return dpkg;
}

}  // namespace steward::agent
