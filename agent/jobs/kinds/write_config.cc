// write_config: write a file atomically (then restart a unit), keeping the
// previous content and mode in the job's record for rollbacks.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward::agent {

namespace {

// Puts a write_config job's file back as it was (and restarts its unit).
// OK with what was done, for the message.
absl::StatusOr<std::string> RestoreConfig(const internal::AgentJobRecord& change,
                                          v1::JobResult* result) {
  const v1::WriteConfigAction& w = change.spec().write_config();
  std::string note;
  if (change.previous_existed()) {
    RETURN_IF_ERROR(WriteFileAtomic(w.path(), change.previous_content(),
                                    static_cast<int>(change.previous_mode())));
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

}  // namespace

void RunWriteConfig(const JobContext& ctx, internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  const v1::WriteConfigAction& w = rec->spec().write_config();
  const int mode = static_cast<int>(w.mode() != 0 ? w.mode() : 0644);
  result->set_package(w.path());
  if (rec->phase() == internal::AgentJobRecord::ROLLING_BACK) {
    const std::string failure = result->message();
    absl::StatusOr<std::string> back = RestoreConfig(*rec, result);
    return ctx.Finish(rec, back.ok() ? v1::JOB_ROLLED_BACK : v1::JOB_FAILED,
                      back.ok()
                          ? absl::StrCat(failure, "; ", *back)
                          : absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  }
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    struct stat st;
    if (stat(w.path().c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode))
        return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat(w.path(), " exists and is not a file"));
      absl::StatusOr<std::string> before = ReadFile(w.path());
      if (!before.ok())
        return ctx.Finish(rec, v1::JOB_FAILED, std::string(before.status().message()));
      if (*before == w.content() && static_cast<int>(st.st_mode & 07777) == mode) {
        return ctx.Finish(rec, v1::JOB_SKIPPED,
                          absl::StrCat(w.path(), " already has this content and mode"));
      }
      rec->set_previous_existed(true);
      rec->set_previous_content(*std::move(before));
      rec->set_previous_mode(st.st_mode & 07777);
    } else if (errno != ENOENT) {
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("cannot read ", w.path(), ": ", strerror(errno)));
    }
    rec->set_phase(internal::AgentJobRecord::CHANGING);
    if (absl::Status st2 = ctx.Save(*rec); !st2.ok()) {
      return ctx.Finish(rec, v1::JOB_FAILED,
                        absl::StrCat("cannot record the job: ", st2.message()));
    }
  }
  // CHANGING (also on resume): writing again and restarting again are safe.
  if (absl::Status st = WriteFileAtomic(w.path(), w.content(), mode); !st.ok()) {
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(st.message()));
  }
  if (w.restart_unit().empty()) return ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
  absl::Status restarted = RestartUnit(w.restart_unit(), result);
  if (restarted.ok()) return ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
  const std::string failure = std::string(restarted.message());
  if (!rec->spec().rollback_on_failure()) return ctx.Finish(rec, v1::JOB_FAILED, failure);
  if (!ctx.BeginRollback(rec, failure)) return;
  absl::StatusOr<std::string> back = RestoreConfig(*rec, result);
  if (!back.ok()) {
    return ctx.Finish(rec, v1::JOB_FAILED,
                      absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  }
  ctx.Finish(rec, v1::JOB_ROLLED_BACK, absl::StrCat(failure, "; ", *back));
}

bool WriteConfigChanged(const internal::AgentJobRecord& target) {
  // A failed restart after the write leaves the new file: undo it too.
  const v1::JobStatus was = target.result().status();
  return was == v1::JOB_SUCCEEDED || was == v1::JOB_FAILED;
}

void RollBackWriteConfig(const JobContext& ctx, const internal::AgentJobRecord& target,
                         internal::AgentJobRecord* rec) {
  v1::JobResult* result = rec->mutable_result();
  result->set_package(target.result().package());
  absl::StatusOr<std::string> restored = RestoreConfig(target, result);
  if (!restored.ok())
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat(*restored, " (as before job ", target.spec().job_id(), ")"));
}

}  // namespace steward::agent
