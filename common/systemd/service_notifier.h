#pragma once
// Tells the service manager how this daemon is doing: the sd_notify(3)
// protocol, written here so the binaries need no libsystemd. A message is
// one datagram of "KEY=VALUE" lines sent to the AF_UNIX socket that
// $NOTIFY_SOCKET names (a path, or "@name" for an abstract socket).
// Type=notify units wait for READY=1; units with WatchdogSec= are restarted
// when WATCHDOG=1 does not come within $WATCHDOG_USEC.
//
// Without a socket (run by hand, or no systemd) every call does nothing and
// succeeds, so callers need no "are we under systemd" branch.
// A plain value; thread-safe: each message is one sendto() on a socket of
// its own, as sd_notify(3) does (a watchdog ping a minute costs nothing).

#include <string>
#include <vector>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace steward {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then unsets them
  // so that the processes this one starts (dpkg, maintainer scripts,
  // systemctl) do not talk to the manager in its name. Call it first thing
  // in main(), before any thread starts: unsetenv is not thread-safe.
  static ServiceNotifier FromEnvironment();

  // `socket`: "" (none), "/path" or "@abstract". `watchdog_timeout`: the
  // manager's WatchdogSec (zero: no watchdog).
  ServiceNotifier(std::string socket, absl::Duration watchdog_timeout);

  // True when there is a manager to tell.
  bool enabled() const { return !socket_.empty(); }
  // How often WATCHDOG=1 must be sent: half the manager's timeout, as
  // sd_watchdog_enabled(3) advises; zero when there is no watchdog.
  absl::Duration watchdog_interval() const { return watchdog_timeout_ / 2; }

  // The daemon is up (Type=notify start jobs finish here).
  absl::Status Ready() const { return Notify("READY=1"); }
  // Still alive; resets the manager's watchdog timer.
  absl::Status Watchdog() const { return Notify("WATCHDOG=1"); }
  // Shutting down on request.
  absl::Status Stopping() const { return Notify("STOPPING=1"); }
  // One line for `systemctl status` (line breaks become spaces).
  absl::Status Status(std::string_view text) const;
  // Sends `state` ("KEY=VALUE" lines) as is. An error names the socket and
  // the reason; a manager that went away is not fatal to the caller.
  absl::Status Notify(std::string_view state) const;

 // The variables FromEnvironment took out, as NAME=VALUE, for this same
  // process after an exec (the agent's self-update): the manager keeps
  // talking to the same PID.
  std::vector<std::string> EnvironmentForExec() const;

 private:
  std::string socket_;
  absl::Duration watchdog_timeout_;
};

}  // namespace steward
