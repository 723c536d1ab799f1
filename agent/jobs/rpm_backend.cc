#include "agent/jobs/rpm_backend.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "common/version/package_version.h"

namespace steward::agent {
namespace {

// EPOCHNUM is 0 without an epoch; rpm itself writes no "0:".
constexpr char kEvrFormat[] = "%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SIZE}\\t%{NAME}\\n";

std::string Evr(absl::string_view epoch, absl::string_view version, absl::string_view release) {
  return absl::StrCat(epoch == "0" ? "" : absl::StrCat(epoch, ":"), version, "-", release);
}

}  // namespace

RpmBackend::RpmBackend(std::string root, absl::Duration timeout) : root_(std::move(root)), timeout_(timeout) {}

std::vector<std::string> RpmBackend::Rpm() const {
  std::vector<std::string> argv = {FindTool("rpm")};
  if (!root_.empty()) argv.insert(argv.end(), {"--root", root_});
  return argv;
}

absl::StatusOr<DebInfo> RpmBackend::Inspect(const std::string& file) const {
  if (FindTool("rpm").empty()) return absl::FailedPreconditionError("rpm is not installed on this host");
  std::vector<std::string> argv = Rpm();
  argv.insert(argv.end(), {"-qp", "--nosignature", "--nodigest", "--queryformat", kEvrFormat, "--", file});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  std::vector<std::string> f;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, '\t')) f = absl::StrSplit(line, '\t');
  }
  if (r.exit_code != 0 || f.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat(file, " is not an rpm package rpm can read: ",
                                                   absl::StripAsciiWhitespace(r.output).substr(0, 300)));
  }
  DebInfo info;
  info.package = f[5];
  info.version = Evr(f[0], f[1], f[2]);
  info.architecture = f[3];
  absl::SimpleAtoi(f[4], &info.installed_size_bytes);
  return info;
}

absl::StatusOr<std::optional<DebState>> RpmBackend::State(const std::string& name) const {
  if (FindTool("rpm").empty()) return absl::FailedPreconditionError("rpm is not installed on this host");
  std::vector<std::string> argv = Rpm();
  argv.insert(argv.end(), {"-q", "--queryformat", kEvrFormat, "--", name});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  if (r.exit_code == 1 && absl::StrContains(r.output, "is not installed")) return std::optional<DebState>();
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("rpm -q ", name, " exited ", r.exit_code, ": ", r.output));
  }
  std::optional<DebState> newest;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() != 6) continue;  // warnings mixed into the output
    const std::string evr = Evr(f[0], f[1], f[2]);
    if (!newest.has_value() || CompareVersions(evr, newest->version) > 0) newest = DebState{"installed", evr, true};
  }
  if (!newest.has_value()) return absl::InternalError(absl::StrCat("rpm -q printed '", r.output, "'"));
  return newest;
}

absl::StatusOr<std::string> RpmBackend::Architecture() const {
  if (FindTool("rpm").empty()) return absl::FailedPreconditionError("rpm is not installed on this host");
  ASSIGN_OR_RETURN(CommandResult r, RunCommand({FindTool("rpm"), "--eval", "%{_arch}"}, timeout_));
  std::string arch(absl::StripAsciiWhitespace(r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1)));
  if (r.exit_code != 0 || arch.empty()) return absl::InternalError(absl::StrCat("rpm --eval %{_arch}: ", r.output));
  return arch;
}

absl::StatusOr<std::vector<std::string>> RpmBackend::InstallProblems(const std::string& file, const DebInfo&) const {
  std::vector<std::string> argv = Rpm();
  argv.insert(argv.end(), {"-U", "--test", "--oldpackage", "--", file});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  std::vector<std::string> problems;
  if (r.exit_code == 0) return problems;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    // "\tlibfoo >= 2 is needed by demo-2.0-1.noarch", "\tdemo conflicts with ..."
    if (absl::StartsWith(line, "\t")) problems.emplace_back(absl::StripAsciiWhitespace(line));
  }
  if (problems.empty()) problems.push_back(std::string(absl::StripAsciiWhitespace(r.output)).substr(0, 500));
  return problems;
}

absl::StatusOr<CommandResult> RpmBackend::Install(const std::string& file) const {
  std::vector<std::string> argv = Rpm();
  argv.insert(argv.end(), {"-U", "--oldpackage", "--replacepkgs", "--", file});
  ASSIGN_OR_RETURN(CommandResult r, RunCommand(argv, timeout_));
  // rpm exits 0 when the new package's %post fails (only a warning), with
  // the package installed: for a job that is a failed install.
  if (r.exit_code == 0 && absl::StrContains(r.output, "warning: %post(") &&
      absl::StrContains(r.output, "scriptlet failed")) {
    r.exit_code = 1;
    absl::StrAppend(&r.output, "steward: the %post scriptlet failed; counted as a failed install (exit 1)\n");
  }
  return r;
}

absl::StatusOr<CommandResult> RpmBackend::Remove(const std::string& name) const {
  std::vector<std::string> argv = Rpm();
  argv.insert(argv.end(), {"-e", "--", name});
  return RunCommand(argv, timeout_);
}

int RpmBackend::CompareVersions(const std::string& a, const std::string& b) const {
  return ComparePackageVersion("rpm", a, b);
}

}  // namespace steward::agent
