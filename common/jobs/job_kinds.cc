#include "common/jobs/job_kinds.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/job_id.h"
#include "common/jobs/job_spec.h"

namespace steward {
namespace {

absl::Status Bad(absl::string_view what) { return absl::InvalidArgumentError(what); }

// --- install_artifact
absl::Status CheckInstallArtifact(const v1::JobSpec& spec) {
  if (!IsSha256Hex(spec.install_artifact().sha256())) {
    return Bad("install_artifact.sha256 must be 64 lower-case hex digits");
  }
  return absl::OkStatus();
}
std::string SummarizeInstallArtifact(const v1::JobSpec& spec) {
  return absl::StrCat("artifact ", spec.install_artifact().sha256().substr(0, 12));
}
JobParams InstallArtifactParams(const v1::JobSpec& spec) {
  return {{"sha256", spec.install_artifact().sha256()}};
}

// --- rollback
absl::Status CheckRollback(const v1::JobSpec& spec) {
  if (!IsValidJobId(spec.rollback().of_job_id()))
    return Bad(absl::StrCat("rollback.of_job_id must be ", kJobIdRule));
  return absl::OkStatus();
}
std::string SummarizeRollback(const v1::JobSpec& spec) {
  return absl::StrCat("undo ", spec.rollback().of_job_id());
}
JobParams RollbackParams(const v1::JobSpec& spec) {
  return {{"of_job_id", spec.rollback().of_job_id()}};
}

// --- remove_package
absl::Status CheckRemovePackage(const v1::JobSpec& spec) {
  if (!IsValidPackageName(spec.remove_package().name())) {
    return Bad(absl::StrCat("remove_package.name '", spec.remove_package().name().substr(0, 130),
                            "' is not a package name ([a-z0-9][a-z0-9+.-]+)"));
  }
  return absl::OkStatus();
}
std::string SummarizeRemovePackage(const v1::JobSpec& spec) { return spec.remove_package().name(); }
JobParams RemovePackageParams(const v1::JobSpec& spec) {
  return {{"name", spec.remove_package().name()}};
}

// --- run_script
absl::Status CheckRunScript(const v1::JobSpec& spec) {
  const v1::RunScriptAction& s = spec.run_script();
  if (s.argv().empty()) return Bad("run_script.argv is empty");
  if (s.argv_size() > 256) return Bad("run_script.argv has more than 256 arguments");
  size_t total = 0;
  for (const std::string& a : s.argv()) {
    total += a.size();
    if (a.find('\0') != std::string::npos) return Bad("run_script.argv contains a NUL byte");
  }
  if (total > (64 << 10)) return Bad("run_script.argv is longer than 64 KiB");
  if (s.argv(0).empty() || s.argv(0)[0] != '/') {
    return Bad(
        absl::StrCat("run_script.argv[0] '", s.argv(0).substr(0, 100),
                     "' must be an absolute path (nothing is looked up in PATH, no shell runs)"));
  }
  if (s.timeout_ms() < 0 || s.timeout_ms() > kMaxScriptTimeoutMs) {
    return Bad("run_script.timeout_ms must be from 0 (5 minutes) to 1 hour");
  }
  return absl::OkStatus();
}
std::string SummarizeRunScript(const v1::JobSpec& spec) {
  return spec.run_script().argv().empty() ? "" : spec.run_script().argv(0);
}
JobParams RunScriptParams(const v1::JobSpec& spec) {
  JobParams p;
  for (const std::string& a : spec.run_script().argv()) p.emplace_back("argv", a);
  p.emplace_back("timeout_ms", absl::StrCat(spec.run_script().timeout_ms()));
  return p;
}

// --- write_config
absl::Status CheckWriteConfig(const v1::JobSpec& spec) {
  const v1::WriteConfigAction& w = spec.write_config();
  if (!IsCleanAbsolutePath(w.path())) {
    return Bad(absl::StrCat("write_config.path '", w.path().substr(0, 100),
                            "' must be an absolute path without '.', '..' or empty components"));
  }
  if (w.content().size() > kMaxConfigBytes) return Bad("write_config.content is larger than 1 MiB");
  if (w.mode() > 07777) return Bad("write_config.mode must be permission bits (at most 07777)");
  if (!w.restart_unit().empty() && !IsValidUnitName(w.restart_unit())) {
    return Bad(absl::StrCat("write_config.restart_unit '", w.restart_unit().substr(0, 100),
                            "' is not a systemd unit name"));
  }
  return absl::OkStatus();
}
std::string SummarizeWriteConfig(const v1::JobSpec& spec) { return spec.write_config().path(); }
JobParams WriteConfigParams(const v1::JobSpec& spec) {
  const v1::WriteConfigAction& w = spec.write_config();
  // The content by digest: a statement stays small, and the digest binds it.
  return {{"path", w.path()},
          {"content_sha256", Sha256Hex(w.content())},
          {"mode", absl::StrCat(w.mode())},
          {"restart_unit", w.restart_unit()}};
}

// --- restart_service
absl::Status CheckRestartService(const v1::JobSpec& spec) {
  if (!IsValidUnitName(spec.restart_service().unit())) {
    return Bad(absl::StrCat("restart_service.unit '", spec.restart_service().unit().substr(0, 100),
                            "' is not a systemd unit name"));
  }
  return absl::OkStatus();
}
std::string SummarizeRestartService(const v1::JobSpec& spec) {
  return spec.restart_service().unit();
}
JobParams RestartServiceParams(const v1::JobSpec& spec) {
  return {{"unit", spec.restart_service().unit()}};
}

// --- apt_package
absl::Status CheckAptPackage(const v1::JobSpec& spec) {
  const v1::AptPackageAction& a = spec.apt_package();
  if (!IsValidPackageName(a.name())) {
    return Bad(absl::StrCat("apt_package.name '", a.name().substr(0, 130),
                            "' is not a package name ([a-z0-9][a-z0-9+.-]+)"));
  }
  if (!a.version().empty() && !IsValidPackageVersion(a.version())) {
    return Bad(absl::StrCat("apt_package.version '", a.version().substr(0, 130),
                            "' is not a Debian version ([0-9A-Za-z.+~:-], starting with a digit)"));
  }
  if (a.remove() && !a.version().empty()) return Bad("apt_package: a removal takes no version");
  return absl::OkStatus();
}
std::string SummarizeAptPackage(const v1::JobSpec& spec) {
  const v1::AptPackageAction& a = spec.apt_package();
  if (a.remove()) return absl::StrCat("remove ", a.name());
  return a.version().empty() ? a.name() : absl::StrCat(a.name(), "=", a.version());
}
JobParams AptPackageParams(const v1::JobSpec& spec) {
  const v1::AptPackageAction& a = spec.apt_package();
  return {{"name", a.name()}, {"version", a.version()}, {"remove", a.remove() ? "1" : "0"}};
}

// The table: one row per kind, in the order of JobSpec's oneof.
constexpr JobKind kJobKinds[] = {
    {v1::JobSpec::kInstallArtifact, "install_artifact", true, &CheckInstallArtifact,
     &SummarizeInstallArtifact, &InstallArtifactParams},
    {v1::JobSpec::kRollback, "rollback", true, &CheckRollback, &SummarizeRollback, &RollbackParams},
    {v1::JobSpec::kRemovePackage, "remove_package", true, &CheckRemovePackage,
     &SummarizeRemovePackage, &RemovePackageParams},
    {v1::JobSpec::kRunScript, "run_script", true, &CheckRunScript, &SummarizeRunScript,
     &RunScriptParams},
    {v1::JobSpec::kWriteConfig, "write_config", true, &CheckWriteConfig, &SummarizeWriteConfig,
     &WriteConfigParams},
    {v1::JobSpec::kRestartService, "restart_service", true, &CheckRestartService,
     &SummarizeRestartService, &RestartServiceParams},
    {v1::JobSpec::kAptPackage, "apt_package", true, &CheckAptPackage, &SummarizeAptPackage,
     &AptPackageParams, "version"},
};

}  // namespace

absl::Span<const JobKind> JobKinds() { return kJobKinds; }

const JobKind* FindJobKind(v1::JobSpec::ActionCase action) {
  for (const JobKind& k : kJobKinds) {
    if (k.action == action) return &k;
  }
  return nullptr;
}

const JobKind* FindJobKind(absl::string_view name) {
  for (const JobKind& k : kJobKinds) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

std::string JobKindName(const v1::JobSpec& spec) {
  const JobKind* k = FindJobKind(spec.action_case());
  return k == nullptr ? "" : k->name;
}

}  // namespace steward
