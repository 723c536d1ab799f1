#pragma once
// stewardctl's commands. Each returns the process exit code and writes its
// result to `out` (tables for people, JSON with --json) and problems to
// `err` as "error: <what>; <what to do next>".

#include <iosfwd>
#include <string>
#include <vector>

namespace steward::ctl {

// Runs stewardctl with `args` (argv without argv[0]). `env_config` is the
// value of STEWARD_CONFIG, or empty.
int RunStewardctl(const std::vector<std::string>& args, const std::string& env_config, std::ostream& out,
                  std::ostream& err);

// "stewardctl 0.1.0 (commit ..., RelWithDebInfo, protocol 1)".
std::string StewardctlVersionLine();

}  // namespace steward::ctl
