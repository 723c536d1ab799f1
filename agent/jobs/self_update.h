#pragma once
// The agent updating itself: an install_artifact job whose package is
// steward-agent (docs/deployments.md, "Agent self-update").
//
//   1. Before dpkg runs, Arm() writes STATE_DIR/update/plan (job, versions)
//      and starts a watchdog: a shell script (written out from this
//      binary, run by /bin/sh, in its own session) that depends on nothing
//      of the new package.
//   2. dpkg installs the new package; its postinst sees the plan and does
//      not restart the service. Restart() then replaces this process by the
//      new binary (same PID: the service manager and the pidfile keep
//      tracking it), leaving the job at CHANGING.
//   3. The new agent resumes the job, and finishes it SUCCEEDED only once
//      its first envelope since it started was acked by the collector
//      (WaitDelivered): that is "reconnected and reporting". It writes
//      STATE_DIR/update/confirmed, and the watchdog exits.
//   4. Without that within the deadline, the watchdog stops the new agent,
//      installs the kept package of the old version (or puts the old binary
//      back when no package was kept), writes STATE_DIR/update/restored and
//      starts the old agent as the new one was started (systemctl restart,
//      or the same command line and log). The old agent resumes the job and
//      finishes it ROLLED_BACK with the watchdog's reason.
//
// Thread-safety: Arm/Restart on the job thread; NoteDelivered from the
// session thread; WaitDelivered on the job thread.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace steward::agent {

// The agent's own package name.
inline constexpr char kAgentPackage[] = "steward-agent";
// Default for --self-update-deadline.
inline constexpr absl::Duration kDefaultSelfUpdateDeadline = absl::Minutes(2);

struct SelfUpdatePlan {
  std::string job_id;
  std::string old_version;
  std::string new_version;
  // The old version's package (STATE_DIR/kept/...), "" when none is kept:
  // the watchdog then puts the previous binary back.
  std::string kept_package;
};

// STATE_DIR/update: plan, confirmed, restored, watchdog.sh, watchdog.log.
std::string SelfUpdateDir(const std::string& state_dir);
// The watchdog's reason when it restored the old agent for `job_id`;
// NOT_FOUND when it did not.
absl::StatusOr<std::string> RestoredReason(const std::string& state_dir, const std::string& job_id);
// After a self-update job finished: the plan and markers go (the log stays).
void ClearSelfUpdate(const std::string& state_dir);
// The change failed before the new agent ran: the watchdog exits without
// restoring anything, and the plan goes.
void DisarmSelfUpdate(const std::string& state_dir, const std::string& job_id);
// The watchdog script (also written to STATE_DIR/update/watchdog.sh).
const char* SelfUpdateWatchdogScript();

class SelfUpdate {
 public:
  // `exe`: this binary's path as started (readlink /proc/self/exe at
  // start: dpkg replaces the file, not the path); `argv`: the command line
  // to start again with; `env_to_restore`: NAME=VALUE pairs put back into
  // the environment before exec (the service manager's, which main took
  // out so that dpkg does not inherit them).
  SelfUpdate(std::string state_dir, std::string exe, std::vector<std::string> argv,
             std::vector<std::string> env_to_restore, absl::Duration deadline);
  virtual ~SelfUpdate() = default;

  absl::Duration deadline() const { return deadline_; }
  // Step 1: the plan and a running watchdog.
  virtual absl::Status Arm(const SelfUpdatePlan& plan);
  // Step 2: exec the (new) binary with the same command line. Returns only
  // when that failed.
  virtual absl::Status Restart();
  // Step 3: true once this process had an envelope acked (NoteDelivered),
  // waiting up to `timeout`; writes STATE_DIR/update/confirmed.
  virtual bool WaitDelivered(const std::string& job_id, absl::Duration timeout);
  // Called by the session on its first ack after connecting.
  void NoteDelivered();

 protected:
  const std::string state_dir_;

 private:
  const std::string exe_;
  const std::vector<std::string> argv_;
  const std::vector<std::string> env_to_restore_;
  const absl::Duration deadline_;
  absl::Notification delivered_;
};

}  // namespace steward::agent
