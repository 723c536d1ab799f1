#include "agent/jobs/dpkg_backend.h"


#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/version/dpkg_version.h"

namespace steward::agent {
namespace {

absl::StatusOr<std::string> Tool(const char* name) {
  std::string path = FindTool(name);
  if (path.empty()) return absl::FailedPreconditionError(absl::StrCat(name, " is not installed in ", kToolPath));
  return path;
}

}  // namespace

DpkgBackend::DpkgBackend(std::string root, absl::Duration timeout) : root_(std::move(root)), timeout_(timeout) {}

std::vector<std::string> DpkgBackend::Dpkg(const char* tool) const {
  std::vector<std::string> argv = {FindTool(tool)};
  if (!root_.empty()) {
    if (std::string(tool) == "dpkg-query") {
      argv.push_back("--admindir=" + root_ + "/var/lib/dpkg");
    } else {
      argv.push_back("--root=" + root_);
    }
  }
  return argv;
}

absl::StatusOr<DebInfo> DpkgBackend::Inspect(const std::string& deb) const {
  ASSIGN_OR_RETURN(std::string dpkg_deb, Tool("dpkg-deb"));
  // The whole control section, parsed here: fields may be folded.
  ASSIGN_OR_RETURN(CommandResult r, RunCommand({dpkg_deb, "--field", deb}, timeout_, 1 << 20));
  if (r.exit_code != 0) {
    return absl::InvalidArgumentError(absl::StrCat(deb, " is not a readable .deb: ", absl::StripAsciiWhitespace(r.output)));
  }
  std::map<std::string, std::string> fields;
  std::string current;
  for (absl::string_view line : absl::StrSplit(r.output, '\n')) {
    if (line.empty()) continue;
    if ((line[0] == ' ' || line[0] == '\t') && !current.empty()) {
      absl::StrAppend(&fields[current], " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    current = absl::AsciiStrToLower(line.substr(0, colon));
    fields[current] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  DebInfo info;
  info.package = fields["package"];
  info.version = fields["version"];
  info.architecture = fields["architecture"];
  if (info.package.empty() || info.version.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(deb, ": the control file has no Package or Version"));
  }
  uint64_t kib = 0;
  if (absl::SimpleAtoi(fields["installed-size"], &kib)) info.installed_size_bytes = kib * 1024;
  info.relations.package = info.package;
  for (const char* f : {"pre-depends", "depends"}) {
    ASSIGN_OR_RETURN(std::vector<DebClause> c, ParseDebRelations(fields[f], absl::StrCat(deb, ": ", f)));
    info.relations.depends.insert(info.relations.depends.end(), c.begin(), c.end());
  }
  for (const char* f : {"conflicts", "breaks"}) {
    ASSIGN_OR_RETURN(std::vector<DebClause> c, ParseDebRelations(fields[f], absl::StrCat(deb, ": ", f)));
    info.relations.conflicts.insert(info.relations.conflicts.end(), c.begin(), c.end());
  }
  return info;
}

bool DpkgStatusInstalled(absl::string_view status) {
  std::vector<absl::string_view> w = absl::StrSplit(status, ' ');
  return w.size() == 3 && w[1] == "ok" &&
         (w[2] == "installed" || w[2] == "triggers-pending" || w[2] == "triggers-awaited");
}

absl::StatusOr<std::optional<DebState>> DpkgBackend::State(const std::string& name) const {
  RETURN_IF_ERROR(Tool("dpkg-query").status());
  std::vector<std::string> argv = Dpkg("dpkg-query");
  argv.insert(argv.end(), {"--show", "--showformat=${Status}\\t${Version}\\n", "--", name});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  if (r.exit_code == 1 && absl::StrContains(r.output, "no packages found")) return std::optional<DebState>();
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("dpkg-query --show ", name, " exited ", r.exit_code, ": ", r.output));
  }
  // The output has stderr merged in: the answer is the one line with a tab.
  std::vector<std::string> parts;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, '\t')) parts = absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), '\t');
  }
  if (parts.size() != 2) return absl::InternalError(absl::StrCat("dpkg-query printed '", r.output, "'"));
  if (absl::EndsWith(parts[0], "not-installed") || absl::EndsWith(parts[0], "config-files")) {
    return std::optional<DebState>();
  }
  return std::optional<DebState>(DebState{parts[0], parts[1], DpkgStatusInstalled(parts[0])});
}

absl::StatusOr<DebInstalledSet> DpkgBackend::Installed() const {
  RETURN_IF_ERROR(Tool("dpkg-query").status());
  std::vector<std::string> argv = Dpkg("dpkg-query");
  argv.insert(argv.end(), {"--show", "--showformat=${Status}\\t${Package}\\t${Version}\\t${Provides}\\n"});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_, 64 << 20));
  if (r.exit_code != 0) return absl::InternalError(absl::StrCat("dpkg-query failed: ", r.output));
  DebInstalledSet set;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() != 4 || !DpkgStatusInstalled(f[0])) continue;
    const std::string name(f[1]);
    set.packages[name] = std::string(f[2]);
    if (f[3].empty()) continue;
    auto provides = ParseDebRelations(f[3], "Provides");
    if (!provides.ok()) continue;  // dpkg accepted it; an odd field only loses virtual names
    for (const DebClause& c : *provides) {
      for (const DebRelation& p : c) set.provides.emplace(p.name, std::make_pair(name, p.version));
    }
  }
  return set;
}

absl::StatusOr<std::string> DpkgBackend::Architecture() const {
  ASSIGN_OR_RETURN(std::string dpkg, Tool("dpkg"));
  ASSIGN_OR_RETURN(std::string out, RunTool({dpkg, "--print-architecture"}, timeout_));
  return std::string(absl::StripAsciiWhitespace(out));
}

absl::StatusOr<uint64_t> DpkgBackend::FreeBytes() const { return FreeBytesAt(root_.empty() ? "/" : root_); }

absl::StatusOr<CommandResult> DpkgBackend::RunDpkg(const std::vector<std::string>& args) const {
  RETURN_IF_ERROR(Tool("dpkg").status());
  std::vector<std::string> argv = Dpkg("dpkg");
  argv.insert(argv.end(), args.begin(), args.end());
  // Another dpkg (apt, unattended-upgrades, or one a killed agent left
  // running) holds the lock: wait for it rather than fail the job.
  const absl::Time give_up = absl::Now() + lock_wait_;
  for (;;) {
    ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
    if (r.exit_code == 0 || !absl::StrContains(r.output, "locked by another process") || absl::Now() > give_up) {
      return r;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

absl::StatusOr<CommandResult> DpkgBackend::ConfigurePending() const {
  return RunDpkg({"--force-confdef", "--force-confold", "--configure", "--pending"});
}

absl::StatusOr<CommandResult> DpkgBackend::Install(const std::string& deb) const {
  // Never ask: keep changed config files, take new ones where untouched.
  return RunDpkg({"--force-confdef", "--force-confold", "--install", deb});
}

absl::StatusOr<CommandResult> DpkgBackend::Remove(const std::string& name) const {
  return RunDpkg({"--remove", "--", name});
}

absl::StatusOr<std::vector<std::string>> DpkgBackend::InstallProblems(const std::string&,
                                                                      const DebInfo& info) const {
  ASSIGN_OR_RETURN(DebInstalledSet installed, Installed());
  return UnmetRelations(info.relations, installed);
}

int DpkgBackend::CompareVersions(const std::string& a, const std::string& b) const {
  return CompareDpkgVersionStrings(a, b);
}

absl::StatusOr<CommandResult> DpkgBackend::CheckRemove(const std::string& name) const {
  return RunDpkg({"--no-act", "--remove", "--", name});
}

}  // namespace steward::agent
