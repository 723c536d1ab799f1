#pragma once
// Running a host tool and reading what it prints, for what has no reliable
// file format to read: rpm's database, systemd's unit states, a .deb's
// control fields. The one place where Steward starts other programs.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward {

// The PATH a tool runs with (and where FindTool looks).
inline constexpr char kToolPath[] = "/usr/sbin:/usr/bin:/sbin:/bin";

// Runs argv[0] (an absolute path; no PATH search, no shell) with `argv`,
// stdin and stderr on /dev/null, environment LC_ALL=C and a fixed PATH, and
// returns what it wrote to stdout. Errors: the tool could not be started,
// exited non-zero or by a signal, ran longer than `timeout` (it is then
// killed), or wrote more than `max_output` bytes (killed too). Safe to call
// from several threads; inherited descriptors are closed in the child.
// The absolute path of `name` in kToolPath, or "" if it is not there (or
// not executable).
std::string FindTool(const std::string& name);

absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv, absl::Duration timeout,
                                    size_t max_output = 256 << 20);

// What a command did: its exit code (128 + the signal when one killed it)
// and its stdout and stderr, interleaved, the last `max_output` bytes.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Like RunTool, for commands whose failure is a result to report (dpkg in a
// job): a non-zero exit is not an error, output beyond `max_output` drops
// its beginning instead of killing the command. Errors: could not start,
// ran longer than `timeout` (killed).
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                                         size_t max_output = 64 << 10);

}  // namespace steward
