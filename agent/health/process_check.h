#pragma once
// The "process" check: counts live processes under procfs that match by
// exact name (/proc/PID/comm), by a substring of the command line
// (/proc/PID/cmdline with NULs read as spaces) or by a pidfile. Zombies and
// dead tasks never count. DOWN when fewer than min_count (default 1) match.
//
// Metrics {check}: app_process_count, app_process_cpu_seconds_total
// (counter: utime+stime of the matching processes), app_process_rss_bytes
// (resident pages from statm times the page size), app_process_exits_total,
// app_coredumps_total (counter: core dumps of the process since the check
// started, from systemd-coredump's store).
//
// Crash signals make a running process DEGRADED: matched processes that
// exited, and core dumps of the process, within restart_window.

#include <memory>
#include <deque>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "agent/health/check.h"
#include "agent/health/coredumps.h"

namespace steward::agent {

// Thread safety: stateless between runs apart from constants; one Run() at
// a time is still the contract of Check.
class ProcessCheck : public Check {
 public:
  enum class Match { kName, kCmdline, kPidfile };

  // `coredump_comm` names the process whose dumps count; when empty, the
  // pattern for Match::kName and the names of the matched processes
  // otherwise. A null `coredumps` store disables the dump signal.
  ProcessCheck(std::string check_name, Match match, std::string pattern, int64_t min_count,
               std::string proc_root, absl::Duration restart_window = absl::Minutes(10),
               std::shared_ptr<CoredumpStore> coredumps = nullptr,
               std::string coredump_comm = "");
  CheckOutcome Run(absl::Time now) override;

 private:
  std::string check_name_;
  Match match_;
  std::string pattern_;  // comm, cmdline substring or pidfile path.
  int64_t min_count_;
  std::string proc_root_;
  double ticks_per_second_;
  double page_size_;
  // Crash signal without systemd: a matched process that disappears is an
  // exit; exits within the window make a running service DEGRADED.
  absl::Duration restart_window_;
  bool seen_once_ = false;
  std::set<std::string> last_pids_;
  std::deque<absl::Time> exits_;
  uint64_t exits_total_ = 0;
  // Process names whose core dumps count (bounded, see kMaxComms).
  std::set<std::string> dump_comms_;
  bool fixed_dump_comm_ = false;
  CoredumpTracker dumps_;
};

// Registered in checks.cc; `spec` is validated.
absl::StatusOr<std::unique_ptr<Check>> MakeProcessCheck(const v1::CheckSpec& spec,
                                                        const CheckEnv& env);

}  // namespace steward::agent
