#pragma once
// The signed job statements this agent has acted on, durable in
// STATE_DIR/statements/ (one UsedStatement file per statement id, rewritten
// atomically): the replay guard. A statement allows `attempts` distinct
// jobs on this agent (a job id already admitted may come again: the
// collector resends jobs until their results arrive, and the executor
// answers a finished one from its record), and, when it allows rollbacks,
// one rollback of each job that ran under it.
//
// Entries are pruned a day after their statement expired: by then the
// expiry refuses the statement by itself (the day covers a clock that
// steps back a little).
//
// Not thread-safe: used by the executor's one job thread.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/jobs/job_statement.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {

class StatementLedger {
 public:
  explicit StatementLedger(std::string dir) : dir_(std::move(dir)) {}

  // Records that `spec` (job `spec.job_id()`) runs under `job.statement`.
  // PermissionDenied, recording nothing, when that would be a replay: a new
  // job beyond the statement's attempts, a rollback of a job that did not
  // run under it, or a second rollback of one. Also refuses (Unavailable,
  // DataLoss) when the ledger cannot be read or written: a replay could not
  // be ruled out.
  absl::Status Admit(const AuthorizedJob& job, const v1::JobSpec& spec);

  // Deletes the entries of statements that expired more than a day before
  // `now_ms`; returns how many.
  size_t Prune(int64_t now_ms) const;

 private:
  std::string Path(const std::string& id) const { return dir_ + "/" + id; }

  std::string dir_;
};

}  // namespace steward::agent
