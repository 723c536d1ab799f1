#include "agent/exec/systemctl.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/exec/tool_runner.h"
#include "common/file_util.h"

namespace steward::agent {

bool SystemdIsPid1(const std::string& proc_root) {
  auto comm = ReadFile(proc_root + "/1/comm");
  return comm.ok() && absl::StripAsciiWhitespace(*comm) == "systemd";
}

absl::StatusOr<std::string> RunSystemctl(const std::vector<std::string>& args,
                                         const SystemctlOptions& options) {
  std::string program = options.program;
  if (program.empty()) {
    if (!SystemdIsPid1(options.proc_root)) {
      return absl::FailedPreconditionError("systemd is not running");
    }
    program = FindTool("systemctl");
    if (program.empty()) {
      return absl::NotFoundError(absl::StrCat("systemctl is not installed in ", kToolPath));
    }
  }
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunTool(argv, options.timeout, options.max_output);
}

}  // namespace steward::agent
