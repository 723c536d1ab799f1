#pragma once
// Packages from the host's configured apt repositories, through apt-get.
// `root` confines apt to another root directory, as DpkgBackend's does:
// its configuration (ROOT/etc/apt), lists and cache (ROOT/var/...) and the
// dpkg database there, dpkg running with --root=ROOT. That is how the
// tests install from a local file: repository without touching the
// machine; empty means this host.
//
// Thread-compatible (apt and dpkg serialize on their locks).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/exec/tool_runner.h"

namespace steward::agent {

// What `apt-get -s` says a change would do.
struct AptPlan {
  // "Inst NAME [OLD] (NEW ...)": name -> NEW.
  std::vector<std::pair<std::string, std::string>> installs;
  // "Remv NAME [OLD]": names.
  std::vector<std::string> removals;
  CommandResult raw;  // exit code and output
};

// Parses apt-get -s output (the Inst/Remv lines; the rest is ignored).
AptPlan ParseAptSimulation(const std::string& output);

class AptBackend {
 public:
  explicit AptBackend(std::string root = "", absl::Duration timeout = absl::Minutes(30));

  // apt-get update.
  absl::StatusOr<CommandResult> Update() const;
  // apt-get -s install NAME[=VERSION] (allow_downgrades adds
  // --allow-downgrades) or -s remove NAME.
  absl::StatusOr<AptPlan> SimulateInstall(const std::string& name, const std::string& version,
                                          bool allow_downgrades) const;
  absl::StatusOr<AptPlan> SimulateRemove(const std::string& name) const;
  // The real thing: never asks (noninteractive, keep changed config files).
  absl::StatusOr<CommandResult> Install(const std::string& name, const std::string& version,
                                        bool allow_downgrades) const;
  absl::StatusOr<CommandResult> Remove(const std::string& name) const;

 private:
  std::vector<std::string> AptGet() const;  // env DEBIAN_FRONTEND=... apt-get -q [-o ... for root]
  std::string root_;
  absl::Duration timeout_;
};

}  // namespace steward::agent
