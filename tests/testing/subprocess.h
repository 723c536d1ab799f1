#pragma once
// Running a child process from a test and capturing its output.

#include <optional>
#include <string>
#include <vector>

namespace steward::testing {

// Result of a child process: its exit code (-1 if it did not exit normally)
// and what it wrote to stdout (and stderr, with StderrMode::kMerge).
struct ProcessResult {
  int exit_code = -1;
  std::string out;
};

enum class StderrMode {
  kDiscard,  // the child's stderr goes to /dev/null
  kMerge,    // the child's stderr is captured with its stdout
};

// Runs argv[0] from PATH without a shell, stdin from /dev/null; nullopt if
// it could not be started (or waited for).
std::optional<ProcessResult> RunProcess(const std::vector<std::string>& argv, StderrMode mode);

// Runs `cmd` with `/bin/sh -c`, stderr discarded.
std::optional<ProcessResult> RunShell(const std::string& cmd);

}  // namespace steward::testing
