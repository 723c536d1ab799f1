#pragma once
// What every kind of job runs with (agent/jobs/kinds/): the package
// backends, the artifact fetch, the clock, and the job records in
// STATE_DIR/jobs/ that make a job survive a crash (AgentJobRecord: rewritten
// atomically at every phase, see job_executor.h).
//
// Not thread-safe: the executor runs one job at a time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/artifacts/artifact_fetcher.h"
#include "agent/jobs/apt_backend.h"
#include "agent/jobs/dpkg_backend.h"
#include "common/signing/ed25519.h"
#include "steward/internal/records.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {
class SelfUpdate;

struct JobExecutorOptions {
  std::string state_dir;  // holds jobs/ and kept/
  // Free space to leave beyond what the package needs.
  uint64_t reserve_bytes = 64 << 20;
  // Job records finished longer ago than this lose their output and the
  // previous file a write_config kept (up to 2 MiB each); such a config
  // change can no longer be rolled back, nor an install or removal once its
  // kept package is pruned. 0: never.
  int64_t compact_after_ms = int64_t{30} * 24 * 3600 * 1000;
  // This agent's id (from its identity): signed statements must name it.
  std::string agent_id;
  // The publisher keys whose signed statements allow host-changing jobs
  // (--trusted-key); none: no such job runs.
  std::vector<Ed25519PublicKey> trusted_keys;
  // Installing the steward-agent package updates this agent
  // (agent/jobs/self_update.h); null: it is installed like any package.
  SelfUpdate* self_update = nullptr;
};

// A job's output as results carry it: the last 64 KiB.
inline constexpr size_t kMaxJobOutput = 64 << 10;

struct JobContext {
  using FetchFn = std::function<absl::StatusOr<FetchedArtifact>(const std::string& sha256)>;

  const DpkgBackend* dpkg = nullptr;
  const AptBackend* apt = nullptr;      // null: apt_package jobs fail saying so
  const PackageManager* rpm = nullptr;  // null: .rpm artifacts fail saying so
  FetchFn fetch;
  JobExecutorOptions options;
  std::function<int64_t()> now_ms;
  // Called at every point where a crash may stop a job: before each write
  // of its record, after the final one, and on both sides of each step
  // that changes the host (a package tool, a config file write, a restart).
  // Null in the agent; the crash simulation (tests/agent/jobs/
  // job_crash_sim_test.cc) stops the process dead at the Nth point.
  std::function<void(absl::string_view point)> crash_point;

  // Calls crash_point, if set.
  void CrashPoint(absl::string_view point) const {
    if (crash_point) crash_point(point);
  }
  // Runs `step`, one change to the host (a package tool, a file write, a
  // restart), between the crash points "before WHAT" and "after WHAT".
  template <typename Step>
  auto ChangeHost(absl::string_view what, Step step) const {
    CrashPoint(absl::StrCat("before ", what));
    auto done = step();
    CrashPoint(absl::StrCat("after ", what));
    return done;
  }

  std::string RecordPath(const std::string& job_id) const;
  absl::Status Save(const internal::AgentJobRecord& rec) const;
  // NotFound when the job has no record; DataLoss when it cannot be parsed.
  absl::StatusOr<internal::AgentJobRecord> Load(const std::string& job_id) const;
  // Sets the final status and message, records the job DONE (trying hard:
  // an unsaved result would be resumed at the next start) and logs it.
  void Finish(internal::AgentJobRecord* rec, v1::JobStatus status,
              const std::string& message) const;
  // The change failed with `failure` and the job rolls back: records that
  // first (phase ROLLING_BACK), so a crash resumes the rollback rather than
  // the failing change. False when it cannot be recorded: the job is then
  // finished FAILED, saying it was not rolled back.
  bool BeginRollback(internal::AgentJobRecord* rec, const std::string& failure) const;
  // dpkg for "deb" (and "": records written before kinds were stored),
  // rpm for "rpm".
  absl::StatusOr<const PackageManager*> ForKind(const std::string& kind) const;
  // Where a package of this name, version and kind is kept for rollbacks.
  std::string KeptPath(const std::string& name, const std::string& version,
                       const std::string& kind) const;
};

// Appends a command's output under `header`, keeping the last kMaxJobOutput bytes.
void AppendOutput(v1::JobResult* result, const std::string& header, const std::string& output);
// Records a command's exit code in `result`, unless a command of the job
// failed before it: a job reports the exit code of the command that made it
// fail (a rollback after it keeps that one; its own exit is in the output,
// and in the message when the rollback fails too).
void RecordExitCode(v1::JobResult* result, int exit_code);
// The file name a kept package has in STATE_DIR/kept/. A zero epoch is
// no epoch to dpkg and rpm ("0:1.0" is shown as "1.0"): the name has none,
// so a package is found under the version the manager shows.
std::string KeptFileName(const std::string& name, const std::string& version,
                         const std::string& kind);
// "rpm" or "dpkg", for messages.
std::string ToolOf(const PackageManager& pm);
// The package is fully installed at `version`, or absent when `version` is
// empty (false when its state could not be read).
bool AtVersion(const PackageManager& pm, const absl::StatusOr<std::optional<DebState>>& state,
               const std::string& version);

}  // namespace steward::agent
