#pragma once
// stewardctl's command line, read against the command table: which command
// (or help, or version) was asked for, with which flags and arguments; and
// the help texts generated from the table. Usage errors are one or two
// lines: what was wrong (with a "did you mean" when a command or flag is
// close to a real one) and which help to read.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/ctl/command.h"

namespace steward::ctl {

// stewardctl's global flags (accepted before and after the command).
const std::vector<FlagSpec>& GlobalFlags();

struct CommandLine {
  enum class Action {
    kRun,      // run `command`
    kHelp,     // print HelpFor(topic)
    kVersion,  // --version
  };
  Action action = Action::kRun;
  const CommandSpec* command = nullptr;
  // kHelp: "" (every command), a noun ("deploy") or a command's path.
  std::string topic;
  ParsedFlags flags;
};

// Reads `args` (argv without argv[0]). A usage error is InvalidArgument
// whose message is the error line, then "see 'stewardctl ... --help'".
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<CommandNoun>& table,
                                             const std::vector<std::string>& args);

// The help for `topic`: "" lists every command; a noun lists its commands;
// a command's path shows its usage, flags with kinds and defaults, and
// examples. NotFound for anything else.
absl::StatusOr<std::string> HelpFor(const std::vector<CommandNoun>& table, const std::string& topic);

// The candidate closest to `word` (edit distance, or a unique prefix), when
// close enough to be a likely typo; "" otherwise.
std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates);

}  // namespace steward::ctl
