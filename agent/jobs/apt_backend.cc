#include "agent/jobs/apt_backend.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace steward::agent {

AptPlan ParseAptSimulation(const std::string& output) {
  AptPlan plan;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    const bool inst = absl::StartsWith(line, "Inst ");
    if (!inst && !absl::StartsWith(line, "Remv ")) continue;
    std::vector<absl::string_view> words = absl::StrSplit(line.substr(5), ' ', absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string name(words[0]);
    if (!inst) {
      plan.removals.push_back(name);
      continue;
    }
    // Inst NAME [OLD] (NEW REPO [ARCH])
    std::string version;
    for (absl::string_view w : words) {
      if (absl::ConsumePrefix(&w, "(")) {
        version = std::string(w);
        break;
      }
    }
    plan.installs.emplace_back(name, version);
  }
  return plan;
}

AptBackend::AptBackend(std::string root, absl::Duration timeout) : root_(std::move(root)), timeout_(timeout) {}

std::vector<std::string> AptBackend::AptGet() const {
  // Wait for a dpkg lock someone else holds (unattended-upgrades, or a dpkg
  // a killed agent left running) instead of failing at once.
  std::vector<std::string> argv = {FindTool("env"), "DEBIAN_FRONTEND=noninteractive", FindTool("apt-get"), "-q",
                                   "-o", "DPkg::Lock::Timeout=300"};
  if (!root_.empty()) {
    for (const std::string& o : {absl::StrCat("Dir=", root_), absl::StrCat("Dir::State::status=", root_,
                                                                           "/var/lib/dpkg/status"),
                                 std::string("Dir::Bin::dpkg=") + FindTool("dpkg"),
                                 absl::StrCat("DPkg::Options::=--root=", root_)}) {
      argv.push_back("-o");
      argv.push_back(o);
    }
  }
  return argv;
}

absl::StatusOr<CommandResult> AptBackend::Update() const {
  if (FindTool("apt-get").empty()) return absl::FailedPreconditionError("apt-get is not installed on this host");
  std::vector<std::string> argv = AptGet();
  argv.push_back("update");
  return RunCommand(argv, timeout_);
}

absl::StatusOr<AptPlan> AptBackend::SimulateInstall(const std::string& name, const std::string& version,
                                                    bool allow_downgrades) const {
  if (FindTool("apt-get").empty()) return absl::FailedPreconditionError("apt-get is not installed on this host");
  std::vector<std::string> argv = AptGet();
  argv.insert(argv.end(), {"-s", "--no-install-recommends"});
  if (allow_downgrades) argv.push_back("--allow-downgrades");
  argv.insert(argv.end(), {"install", version.empty() ? name : absl::StrCat(name, "=", version)});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  AptPlan plan = ParseAptSimulation(r.output);
  plan.raw = std::move(r);
  return plan;
}

absl::StatusOr<AptPlan> AptBackend::SimulateRemove(const std::string& name) const {
  if (FindTool("apt-get").empty()) return absl::FailedPreconditionError("apt-get is not installed on this host");
  std::vector<std::string> argv = AptGet();
  argv.insert(argv.end(), {"-s", "remove", name});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  AptPlan plan = ParseAptSimulation(r.output);
  plan.raw = std::move(r);
  return plan;
}

absl::StatusOr<CommandResult> AptBackend::Install(const std::string& name, const std::string& version,
                                                  bool allow_downgrades) const {
  std::vector<std::string> argv = AptGet();
  argv.insert(argv.end(), {"-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef", "-o",
                           "Dpkg::Options::=--force-confold"});
  if (allow_downgrades) argv.push_back("--allow-downgrades");
  argv.insert(argv.end(), {"install", version.empty() ? name : absl::StrCat(name, "=", version)});
  return RunCommand(argv, timeout_);
}

absl::StatusOr<CommandResult> AptBackend::Remove(const std::string& name) const {
  std::vector<std::string> argv = AptGet();
  argv.insert(argv.end(), {"-y", "remove", name});
  return RunCommand(argv, timeout_);
}

}  // namespace steward::agent
