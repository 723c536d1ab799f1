// write_config: write a file atomically (then restart a unit), keeping the
// previous content and mode in the job's record for rollbacks.
//
// What an operator can count on (docs/deployments.md says it too):
// - A symlink at the path stays a symlink: the job writes the file it points
//   to (resolved at each write; a link to nothing is refused), as an editor
//   or `cp` would, so /etc/app.conf -> /srv/app/app.conf keeps working.
// - The file keeps its owner and group: the new content is written to a
//   file beside it with the same owner and group, then renamed over it, so
//   the path never holds a file with other owners, even after a crash. A
//   new file is the agent's (root's).
// - The mode is the job's (0: 0644, as the spec says).
// - A rollback puts back the previous content and mode, through the same
//   link and with the same owner and group.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agent/jobs/kinds/kinds.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward::agent {

namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

// The file a write to `path` changes: `path` itself, or the file a symlink
// there points to. FailedPrecondition for a link to nothing.
absl::StatusOr<std::string> FileBehind(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return path;
    return ErrnoError("cannot read", path);
  }
  if (!S_ISLNK(st.st_mode)) return path;
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is a symlink to a file that does not exist (", strerror(errno), "); not written"));
  }
  return std::string(resolved);
}

// Writes `content` to the file behind `path` atomically, with `mode`, and
// the owner and group of the file it replaces (see the top of this file).
absl::Status WriteConfigFile(const std::string& path, const std::string& content, int mode) {
  ASSIGN_OR_RETURN(const std::string file, FileBehind(path));
  struct stat before;
  std::optional<std::pair<uid_t, gid_t>> owner;
  if (stat(file.c_str(), &before) == 0) {
    owner.emplace(before.st_uid, before.st_gid);
  } else if (errno != ENOENT) {
    return ErrnoError("cannot read", file);
  }
  // Made whole beside the file (same directory: the rename is atomic),
  // owned as the file is, then renamed over it.
  const std::string staged = file + ".steward-new";
  RETURN_IF_ERROR(WriteFileAtomic(staged, content, mode));
  if (owner.has_value()) {
    const int fd = open(staged.c_str(), O_RDONLY | O_CLOEXEC);
    const bool owned = fd >= 0 && fchown(fd, owner->first, owner->second) == 0 &&
                       fchmod(fd, mode) == 0 && fsync(fd) == 0;  // chown clears setuid bits
    const int saved_errno = errno;
    if (fd >= 0) close(fd);
    if (!owned) {
      errno = saved_errno;
      absl::Status st = ErrnoError("cannot give the owner and group of the file to", staged);
      unlink(staged.c_str());
      return st;
    }
  }
  if (rename(staged.c_str(), file.c_str()) != 0) {
    absl::Status st = ErrnoError("cannot rename onto", file);
    unlink(staged.c_str());
    return st;
  }
  const std::string dir = file.substr(0, std::max<size_t>(file.rfind('/'), 1));
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoError("cannot open", dir);
  const int synced = fsync(dfd);
  close(dfd);
  if (synced != 0) return ErrnoError("cannot fsync", dir);
  return absl::OkStatus();
}

// Puts a write_config job's file back as it was (and restarts its unit).
// OK with what was done, for the message.
absl::StatusOr<std::string> RestoreConfig(const JobContext& ctx,
                                          const internal::AgentJobRecord& change,
                                          v1::JobResult* result) {
  const v1::WriteConfigAction& w = change.spec().write_config();
  std::string note;
  if (change.previous_existed()) {
    RETURN_IF_ERROR(ctx.ChangeHost("write of the previous file", [&] {
      return WriteConfigFile(w.path(), change.previous_content(),
                             static_cast<int>(change.previous_mode()));
    }));
    note = absl::StrCat("restored the previous ", w.path());
  } else {
    // No previous file recorded: the job created it, or failed before it
    // looked. Only the job's own content is removed, never someone's file.
    absl::StatusOr<std::string> now = ReadFile(w.path());
    if (!now.ok() && !absl::IsNotFound(now.status())) return now.status();
    if (now.ok() && *now != w.content()) {
      return absl::StrCat("left ", w.path(), " alone: it does not hold the job's content");
    }
    ctx.CrashPoint("before removing the new file");
    if (now.ok() && unlink(w.path().c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat("cannot remove ", w.path(), ": ", strerror(errno)));
    }
    note = absl::StrCat(now.ok() ? "removed the new " : "no new ", w.path());
  }
  if (!w.restart_unit().empty()) {
    // The file is back either way; a unit that does not restart with it
    // either is reported, not hidden.
    absl::Status st =
        ctx.ChangeHost("restart (rollback)", [&] { return RestartUnit(w.restart_unit(), result); });
    if (!st.ok()) absl::StrAppend(&note, " (restarting it again failed too: ", st.message(), ")");
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
    absl::StatusOr<std::string> back = RestoreConfig(ctx, *rec, result);
    return ctx.Finish(rec, back.ok() ? v1::JOB_ROLLED_BACK : v1::JOB_FAILED,
                      back.ok()
                          ? absl::StrCat(failure, "; ", *back)
                          : absl::StrCat(failure, "; rollback failed: ", back.status().message()));
  }
  if (rec->phase() == internal::AgentJobRecord::RECEIVED) {
    absl::StatusOr<std::string> file = FileBehind(w.path());
    if (!file.ok()) return ctx.Finish(rec, v1::JOB_FAILED, std::string(file.status().message()));
    struct stat st;
    if (stat(file->c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode))
        return ctx.Finish(rec, v1::JOB_FAILED, absl::StrCat(w.path(), " exists and is not a file"));
      absl::StatusOr<std::string> before = ReadFile(*file);
      if (!before.ok())
        return ctx.Finish(rec, v1::JOB_FAILED, std::string(before.status().message()));
      const uint32_t mode_before = st.st_mode & 07777;
      if (*before == w.content() && static_cast<int>(mode_before) == mode) {
        return ctx.Finish(rec, v1::JOB_SKIPPED,
                          absl::StrCat(w.path(), " already has this content and mode"));
      }
      rec->set_previous_existed(true);
      rec->set_previous_content(*std::move(before));
      rec->set_previous_mode(mode_before);
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
  if (absl::Status st = ctx.ChangeHost(
          "write of the file", [&] { return WriteConfigFile(w.path(), w.content(), mode); });
      !st.ok()) {
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(st.message()));
  }
  if (w.restart_unit().empty()) return ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
  absl::Status restarted =
      ctx.ChangeHost("restart", [&] { return RestartUnit(w.restart_unit(), result); });
  if (restarted.ok()) return ctx.Finish(rec, v1::JOB_SUCCEEDED, "");
  const std::string failure = std::string(restarted.message());
  if (!rec->spec().rollback_on_failure()) return ctx.Finish(rec, v1::JOB_FAILED, failure);
  if (!ctx.BeginRollback(rec, failure)) return;
  absl::StatusOr<std::string> back = RestoreConfig(ctx, *rec, result);
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
  absl::StatusOr<std::string> restored = RestoreConfig(ctx, target, result);
  if (!restored.ok())
    return ctx.Finish(rec, v1::JOB_FAILED, std::string(restored.status().message()));
  ctx.Finish(rec, v1::JOB_ROLLED_BACK,
             absl::StrCat(*restored, " (as before job ", target.spec().job_id(), ")"));
}

}  // namespace steward::agent
