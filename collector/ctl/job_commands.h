#pragma once
// stewardctl's one-host jobs: `job run` (install an artifact, remove a
// package, run a program, write a config file, restart a unit), `job
// rollback` (undo a job), `job list`. Tables for people, --json for scripts.

#include <iostream>
#include <ostream>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

struct JobOptions {
  std::string host;      // agent id
  std::string artifact;  // job run: SHA-256 (or a unique prefix of 6+ digits)
  std::string of_job;    // job rollback: the job to undo
  std::string job_id;    // job list: only this one
  // job run: exactly one of artifact, remove, script (argv), write_config
  // (the file's path; content from `from`), restart.
  std::string remove;
  std::vector<std::string> script;
  std::string script_timeout;  // "5m"
  std::string write_config, from, mode, restart;
  bool rollback_on_failure = false;
  // job run, job rollback: the publisher private key (PREFIX.key) that
  // signs the job for this host; required (agents refuse unsigned jobs).
  std::string sign_key;
  bool json = false;
  absl::Duration timeout = absl::Seconds(30);
  // Turns `host` as typed (id, prefix or hostname) into an agent id, after
  // the local checks; null: `host` is an agent id already.
  std::function<absl::StatusOr<std::string>(const std::string&)> resolve_host;
  // Where the collector's warnings go (an unsigned artifact, a host that
  // trusts none of its signers), apart from the result on `out`.
  std::ostream* notes = &std::cerr;
};

// How long the statement of a one-host job is valid: the host may be
// offline when the job is created.
inline constexpr absl::Duration kOneHostStatementLifetime = absl::Hours(24);

absl::Status JobRun(v1::AdminService::Stub& stub, JobOptions o, std::ostream& out);
absl::Status JobRollback(v1::AdminService::Stub& stub, JobOptions o, std::ostream& out);
absl::Status JobList(v1::AdminService::Stub& stub, const JobOptions& o, std::ostream& out);

// "succeeded", "rolled_back", ... as the JSON contract spells job states.
std::string JobStatusName(int status);

}  // namespace steward::ctl
