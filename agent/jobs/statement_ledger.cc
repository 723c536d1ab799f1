#include "agent/jobs/statement_ledger.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "steward/internal/records.pb.h"

namespace steward::agent {
namespace {

constexpr int64_t kKeepAfterExpiryMs = int64_t{24} * 3600 * 1000;

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

absl::Status StatementLedger::Admit(const AuthorizedJob& job, const v1::JobSpec& spec) {
  const JobStatement& s = job.statement;
  internal::UsedStatement used;
  absl::StatusOr<std::string> bytes = ReadFile(Path(s.id));
  if (bytes.ok()) {
    if (!used.ParseFromString(*bytes) || used.id() != s.id) {
      return absl::DataLossError(absl::StrCat("the record of signed statement ", s.id, " (",
                                              Path(s.id),
                                              ") is damaged; a replay cannot be ruled out"));
    }
  } else if (absl::IsNotFound(bytes.status())) {
    used.set_id(s.id);
    used.set_expires_ms(s.expires_ms);
  } else {
    return absl::UnavailableError(absl::StrCat("cannot read the record of signed statement ", s.id,
                                               ": ", bytes.status().message()));
  }
  const std::string& job_id = spec.job_id();
  if (job.use == StatementUse::kChange) {
    if (Contains(used.job_ids(), job_id)) return absl::OkStatus();  // the same job again
    if (static_cast<uint32_t>(used.job_ids_size()) >= s.attempts) {
      return absl::PermissionDeniedError(
          absl::StrCat("signed statement ", s.id, " was already used on this agent for job(s) ",
                       absl::StrJoin(used.job_ids(), ", "), " and allows ", s.attempts,
                       " job(s) per agent: replay refused (sign a new statement to run it again)"));
    }
    used.add_job_ids(job_id);
  } else {
    const std::string& of = spec.rollback().of_job_id();
    if (Contains(used.rollback_job_ids(), job_id)) return absl::OkStatus();
    if (!Contains(used.job_ids(), of)) {
      return absl::PermissionDeniedError(
          absl::StrCat("job ", of, " did not run under signed statement ", s.id,
                       " on this agent, so that statement does not cover undoing it"));
    }
    if (Contains(used.rolled_back_job_ids(), of)) {
      return absl::PermissionDeniedError(absl::StrCat("job ", of,
                                                      " was rolled back under signed statement ",
                                                      s.id, " already: replay refused"));
    }
    used.add_rollback_job_ids(job_id);
    used.add_rolled_back_job_ids(of);
  }
  RETURN_IF_ERROR(MakeDirs(dir_, 0700));
  if (absl::Status st = WriteFileAtomic(Path(s.id), used.SerializeAsString(), 0600); !st.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot record signed statement ", s.id, ": ", st.message()));
  }
  return absl::OkStatus();
}

size_t StatementLedger::Prune(int64_t now_ms) const {
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir_);
  if (!names.ok()) return 0;
  size_t removed = 0;
  for (const std::string& name : *names) {
    if (name.starts_with('.')) continue;
    absl::StatusOr<std::string> bytes = ReadFile(Path(name));
    internal::UsedStatement used;
    // A damaged entry stays: deleting it could let a replay through.
    if (!bytes.ok() || !used.ParseFromString(*bytes) || used.id() != name) continue;
    if (used.expires_ms() + kKeepAfterExpiryMs >= now_ms) continue;
    if (unlink(Path(name).c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      spdlog::warn("signed statements: cannot remove {}: {}", Path(name), std::strerror(errno));
    }
  }
  return removed;
}

}  // namespace steward::agent
