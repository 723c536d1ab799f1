#pragma once
// What an operator signs to allow host-changing jobs, and the agent's check
// of it. The collector only carries the signed statement: it holds no key
// that can make one, so neither it nor a stolen admin.conf can change a
// host on its own.
//
// A statement is text, one field per line, in this order and nothing else:
//
//   steward-job-v1
//   id=<32 lower-case hex digits>     unique (a nonce): the replay guard's key
//   issued=<Unix ms>
//   expires=<Unix ms>                 after issued, at most kMaxStatementLifetimeMs later
//   agent=<agent id>                  one line per agent it is for, sorted, no duplicates
//   action=<kind>                     a name of common/jobs/job_kinds.h
//   param.<name>=<value>              that kind's parameters, in the table's order
//   rollback=yes|no                   whether the change may be undone (rollback_on_failure,
//                                     and rollback jobs of the jobs it ran)
//   attempts=<n>                      how many jobs (job ids) one agent may run under it
//
// and a final "\n". Each value is escaped: every byte outside '!'..'~', and
// '%', is written %XX (upper-case hex), so no value holds a line break and
// every statement has exactly one spelling: the parser re-encodes what it
// read and refuses any text that is not that encoding. Large parameters go
// in by digest (write_config's content as content_sha256).
//
// Signatures are Ed25519 over the statement's bytes, carried in a
// v1::JobAuthorization beside it. Everything here is pure and thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jobs/job_kinds.h"
#include "common/signing/ed25519.h"
#include "steward/v1/types.pb.h"

namespace steward {

inline constexpr char kJobStatementTag[] = "steward-job-v1";
inline constexpr int64_t kMaxStatementLifetimeMs = int64_t{31} * 24 * 3600 * 1000;
inline constexpr size_t kMaxStatementAgents = 100'000;
inline constexpr size_t kMaxStatementBytes = 8 << 20;
inline constexpr uint32_t kMaxStatementAttempts = 100;

struct JobStatement {
  std::string id;  // 32 lower-case hex digits
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  std::vector<std::string> agents;  // sorted, unique
  std::string action;               // a JobKind name
  JobParams params;
  bool may_roll_back = false;
  uint32_t attempts = 1;
};

// The canonical bytes. The statement must be well-formed (see
// CheckJobStatementFields); the result is what gets signed.
std::string EncodeJobStatement(const JobStatement& s);
// InvalidArgument naming the line and what is wrong.
absl::StatusOr<JobStatement> ParseJobStatement(absl::string_view text);
// The rules on the fields that the encoding does not carry itself.
absl::Status CheckJobStatementFields(const JobStatement& s);

// A statement for `spec`'s action and parameters with a fresh id; the
// caller sets agents, times, rollback and attempts. InvalidArgument for a
// spec without an action.
absl::StatusOr<JobStatement> StatementForAction(const v1::JobSpec& spec);
// Encodes and signs: the authorization a JobSpec (or DeploymentSpec) carries.
v1::JobAuthorization SignJobStatement(const JobStatement& s, const Ed25519PrivateKey& key);

// How `spec` relates to `s`: the action it names (kChange), or a rollback
// job of a change that `s` allows to be undone (kRollbackOfChange).
enum class StatementUse { kChange, kRollbackOfChange };
// PermissionDenied saying what differs (action, a parameter, rollbacks not
// allowed) when the statement does not cover the spec's action.
absl::StatusOr<StatementUse> MatchJobToStatement(const JobStatement& s, const v1::JobSpec& spec);

// The agent's check of a job's authorization, all but replay (the agent's
// statement ledger): signed by a trusted key, readable, not expired, naming
// `agent_id`, covering the spec. PermissionDenied with a message for people.
struct AuthorizedJob {
  JobStatement statement;
  StatementUse use;
  std::string key_id;  // the trusted key that signed it
};
absl::StatusOr<AuthorizedJob> CheckJobAuthorization(const v1::JobSpec& spec,
                                                    absl::string_view agent_id,
                                                    const std::vector<Ed25519PublicKey>& trusted,
                                                    int64_t now_ms);

// The collector's early check of a job it is asked to store for
// `agent_id` (the agent checks again, against the keys it trusts):
// FailedPrecondition when a host-changing job carries no statement (every
// agent would refuse it), InvalidArgument when its statement is malformed,
// expired, not for the agent, not covering the job or its signature does
// not verify with its own key. The collector cannot tell whether the agent
// trusts that key.
absl::Status CheckJobSignedFor(const v1::JobSpec& spec, absl::string_view agent_id, int64_t now_ms);

}  // namespace steward
