#include "agent/jobs/self_update.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/log_format.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

// Arguments: STATE_DIR JOB_ID NEW_VERSION OLD_VERSION KEPT_PACKAGE
// PREVIOUS_BINARY EXE AGENT_PID DEADLINE_SECONDS. POSIX sh and coreutils
// only: it must run whatever the new package holds.
constexpr char kWatchdog[] = R"SH(#!/bin/sh
# steward-agent self-update watchdog (written by the agent; see
# agent/jobs/self_update.h). Restores the old agent when the new one has
# not reported within the deadline.
STATE=$1 JOB=$2 NEW=$3 OLD=$4 KEPT=$5 PREV_BIN=$6 EXE=$7 PID=$8 DEADLINE=$9
U="$STATE/update"
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) watchdog[$$] job $JOB: $*" >>"$U/watchdog.log"; }
# How the agent runs now: its command line and where its output goes, to
# start the old one the same way when no service manager does it.
tr '\0' '\n' <"/proc/$PID/cmdline" >"$U/cmdline" 2>/dev/null
OUT=$(readlink "/proc/$PID/fd/2" 2>/dev/null)
case "$OUT" in /*) [ -e "$OUT" ] || OUT=/dev/null ;; *) OUT=/dev/null ;; esac
PIDFILE=""
[ -s /run/steward-agent.pid ] && [ "$(cat /run/steward-agent.pid)" = "$PID" ] && PIDFILE=/run/steward-agent.pid
log "armed: $OLD -> $NEW, ${DEADLINE}s for the new agent to report"
end=$(($(date +%s) + DEADLINE))
while [ "$(date +%s)" -lt "$end" ]; do
	if [ "$(cat "$U/confirmed" 2>/dev/null)" = "$JOB" ]; then
		log "the new agent reported: done"
		exit 0
	fi
	sleep 1
done
reason="steward-agent $NEW did not report to the collector within ${DEADLINE}s"
log "$reason: restoring $OLD"
systemd=no
[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && systemd=yes
if [ "$systemd" = no ] && kill -0 "$PID" 2>/dev/null; then
	kill -TERM "$PID" 2>/dev/null
	i=0
	while kill -0 "$PID" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
	kill -KILL "$PID" 2>/dev/null
fi
restored=""
if [ -n "$KEPT" ] && [ -r "$KEPT" ]; then
	if DEBIAN_FRONTEND=noninteractive dpkg --force-confold --force-downgrade -i "$KEPT" </dev/null >>"$U/watchdog.log" 2>&1; then
		restored="the package $OLD"
	else
		log "dpkg could not install $KEPT"
	fi
fi
if [ -z "$restored" ] && [ -r "$PREV_BIN" ]; then
	cp "$PREV_BIN" "$EXE.steward-restore" && chmod 0755 "$EXE.steward-restore" && mv "$EXE.steward-restore" "$EXE" &&
		restored="the binary of $OLD (no package of it was kept; dpkg still lists $NEW)"
fi
[ -n "$restored" ] || restored="nothing (no kept package, no previous binary)"
printf '%s\t%s; restored %s\n' "$JOB" "$reason" "$restored" >"$U/restored"
log "restored $restored"
if [ "$systemd" = yes ]; then
	systemctl restart steward-agent >>"$U/watchdog.log" 2>&1
	log "systemctl restart steward-agent: exit $?"
	exit 0
fi
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done <"$U/cmdline"
[ $# -gt 0 ] || set -- "$EXE"
setsid "$@" </dev/null >>"$OUT" 2>&1 &
[ -n "$PIDFILE" ] && echo $! >"$PIDFILE"
log "started the old agent again: pid $!"
)SH";

// Forks twice: the watchdog is nobody's child here and in its own session,
// so neither this process's exit nor its exec touches it.
absl::Status SpawnDetached(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (child == 0) {
    if (setsid() < 0) _exit(1);
    pid_t grandchild = fork();
    if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    syscall(SYS_close_range, 3, ~0U, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return absl::InternalError("could not start the watchdog");
  return absl::OkStatus();
}

}  // namespace

std::string SelfUpdateDir(const std::string& state_dir) { return state_dir + "/update"; }

const char* SelfUpdateWatchdogScript() { return kWatchdog; }

absl::StatusOr<std::string> RestoredReason(const std::string& state_dir, const std::string& job_id) {
  auto text = ReadFile(SelfUpdateDir(state_dir) + "/restored");
  if (!text.ok()) return absl::NotFoundError("not restored");
  std::pair<std::string, std::string> parts = absl::StrSplit(*text, absl::MaxSplits('\t', 1));
  if (parts.first != job_id) return absl::NotFoundError("restored for another job");
  while (!parts.second.empty() && parts.second.back() == '\n') parts.second.pop_back();
  return parts.second;
}

void ClearSelfUpdate(const std::string& state_dir) {
  // "confirmed" stays: the watchdog may not have read it yet (Arm removes it).
  const std::string dir = SelfUpdateDir(state_dir);
  for (const char* f : {"/plan", "/restored", "/cmdline"}) unlink((dir + f).c_str());
}

void DisarmSelfUpdate(const std::string& state_dir, const std::string& job_id) {
  if (auto s = WriteFileAtomic(SelfUpdateDir(state_dir) + "/confirmed", job_id, 0600); !s.ok()) {
    spdlog::warn("self-update: cannot stop the watchdog: {}", s.message());
  }
  ClearSelfUpdate(state_dir);
}

SelfUpdate::SelfUpdate(std::string state_dir, std::string exe, std::vector<std::string> argv,
                       std::vector<std::string> env_to_restore, absl::Duration deadline)
    : state_dir_(std::move(state_dir)),
      exe_(std::move(exe)),
      argv_(std::move(argv)),
      env_to_restore_(std::move(env_to_restore)),
      deadline_(deadline) {}

absl::Status SelfUpdate::Arm(const SelfUpdatePlan& plan) {
  const std::string dir = SelfUpdateDir(state_dir_);
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  ClearSelfUpdate(state_dir_);
  unlink((dir + "/confirmed").c_str());
  // The binary running now, for when no package of it is kept.
  const std::string previous = dir + "/steward-agent.previous";
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(exe_));
  RETURN_IF_ERROR(WriteFileAtomic(previous, bytes, 0700));
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/watchdog.sh", kWatchdog, 0700));
  // The plan last: the postinst skips its restart while it exists.
  RETURN_IF_ERROR(WriteFileAtomic(
      dir + "/plan", absl::StrCat(plan.job_id, "\n", plan.old_version, "\n", plan.new_version, "\n"), 0600));
  RETURN_IF_ERROR(SpawnDetached({"/bin/sh", dir + "/watchdog.sh", state_dir_, plan.job_id, plan.new_version,
                                 plan.old_version, plan.kept_package, previous, exe_, std::to_string(getpid()),
                                 std::to_string(absl::ToInt64Seconds(deadline_))},
                                dir + "/watchdog.log"));
  spdlog::info("self-update {} -> {}: watchdog armed ({} for the new agent to report; log {}/watchdog.log)",
               plan.old_version, plan.new_version, absl::FormatDuration(deadline_), dir);
  return absl::OkStatus();
}

absl::Status SelfUpdate::Restart() {
  spdlog::info("self-update: starting the new agent ({})", exe_);
  spdlog::default_logger()->flush();
  for (const std::string& kv : env_to_restore_) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    setenv(p.first.c_str(), p.second.c_str(), 1);
  }
  std::vector<char*> args;
  for (const std::string& a : argv_) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Descriptors of this image (outbox, sockets, locks) close at exec.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  execv(exe_.c_str(), args.data());
  return absl::InternalError(absl::StrCat("cannot exec ", exe_, ": ", strerror(errno)));
}

void SelfUpdate::NoteDelivered() {
  if (!delivered_.HasBeenNotified()) delivered_.Notify();
}

bool SelfUpdate::WaitDelivered(const std::string& job_id, absl::Duration timeout) {
  if (!delivered_.WaitForNotificationWithTimeout(timeout)) return false;
  if (auto s = WriteFileAtomic(SelfUpdateDir(state_dir_) + "/confirmed", job_id, 0600); !s.ok()) {
    spdlog::warn("self-update: cannot tell the watchdog: {}", s.message());
  }
  return true;
}

}  // namespace steward::agent
