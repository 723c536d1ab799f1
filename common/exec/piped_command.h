#pragma once
// Runs a program the operator's way (PATH lookup, the caller's environment:
// ssh needs HOME and SSH_AUTH_SOCK) with `input` on its stdin and its
// stdout and stderr collected apart. Unlike RunTool (fixed PATH and
// environment, for the agent's system tools) this is for commands a person
// would type, such as stewardctl install's ssh.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward {

struct PipedResult {
  int exit_code = -1;  // 128 + the signal when one ended it
  // The last `max_output` bytes of each.
  std::string out;
  std::string err;
};

// Errors: could not start (NOT_FOUND naming the program), ran longer than
// `timeout` (DEADLINE_EXCEEDED; killed, with its process group).
absl::StatusOr<PipedResult> RunPiped(const std::vector<std::string>& argv, const std::string& input,
                                     absl::Duration timeout, size_t max_output = 64 << 10);

}  // namespace steward
