#include "common/jobs/job_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/job_id.h"

namespace steward {

bool IsValidPackageName(absl::string_view name) {
  if (name.size() < 2 || name.size() > 128) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '+' && c != '.' && c != '-'))) return false;
  }
  return true;
}

bool IsValidPackageVersion(absl::string_view v) {
  if (v.empty() || v.size() > 128 || !(v[0] >= '0' && v[0] <= '9')) return false;
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '+' || c == '~' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidUnitName(absl::string_view unit) {
  if (unit.empty() || unit.size() > 256 || unit[0] == '-') return false;
  for (char c : unit) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                    c == '_' || c == '.' || c == '@' || c == '-' || c == '\\';
    if (!ok) return false;
  }
  return true;
}

bool IsCleanAbsolutePath(absl::string_view path) {
  if (path.size() < 2 || path.size() > 4096 || path[0] != '/' || path.back() == '/') return false;
  if (path.find('\0') != absl::string_view::npos) return false;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

absl::Status ValidateJobSpec(const v1::JobSpec& spec) {
  auto bad = [](absl::string_view what) { return absl::InvalidArgumentError(what); };
  if (!IsValidJobId(spec.job_id())) return bad(absl::StrCat("job id must be ", kJobIdRule));
  switch (spec.action_case()) {
    case v1::JobSpec::kInstallArtifact:
      if (!IsSha256Hex(spec.install_artifact().sha256())) {
        return bad("install_artifact.sha256 must be 64 lower-case hex digits");
      }
      return absl::OkStatus();
    case v1::JobSpec::kRollback:
      if (!IsValidJobId(spec.rollback().of_job_id())) return bad(absl::StrCat("rollback.of_job_id must be ", kJobIdRule));
      return absl::OkStatus();
    case v1::JobSpec::kRemovePackage:
      if (!IsValidPackageName(spec.remove_package().name())) {
        return bad(absl::StrCat("remove_package.name '", spec.remove_package().name().substr(0, 130),
                                "' is not a package name ([a-z0-9][a-z0-9+.-]+)"));
      }
      return absl::OkStatus();
    case v1::JobSpec::kRunScript: {
      const v1::RunScriptAction& s = spec.run_script();
      if (s.argv().empty()) return bad("run_script.argv is empty");
      if (s.argv_size() > 256) return bad("run_script.argv has more than 256 arguments");
      size_t total = 0;
      for (const std::string& a : s.argv()) {
        total += a.size();
        if (a.find('\0') != std::string::npos) return bad("run_script.argv contains a NUL byte");
      }
      if (total > (64 << 10)) return bad("run_script.argv is longer than 64 KiB");
      if (s.argv(0).empty() || s.argv(0)[0] != '/') {
        return bad(absl::StrCat("run_script.argv[0] '", s.argv(0).substr(0, 100),
                                "' must be an absolute path (nothing is looked up in PATH, no shell runs)"));
      }
      if (s.timeout_ms() < 0 || s.timeout_ms() > kMaxScriptTimeoutMs) {
        return bad("run_script.timeout_ms must be from 0 (5 minutes) to 1 hour");
      }
      return absl::OkStatus();
    }
    case v1::JobSpec::kWriteConfig: {
      const v1::WriteConfigAction& w = spec.write_config();
      if (!IsCleanAbsolutePath(w.path())) {
        return bad(absl::StrCat("write_config.path '", w.path().substr(0, 100),
                                "' must be an absolute path without '.', '..' or empty components"));
      }
      if (w.content().size() > kMaxConfigBytes) return bad("write_config.content is larger than 1 MiB");
      if (w.mode() > 07777) return bad("write_config.mode must be permission bits (at most 07777)");
      if (!w.restart_unit().empty() && !IsValidUnitName(w.restart_unit())) {
        return bad(absl::StrCat("write_config.restart_unit '", w.restart_unit().substr(0, 100),
                                "' is not a systemd unit name"));
      }
      return absl::OkStatus();
    }
    case v1::JobSpec::kAptPackage: {
      const v1::AptPackageAction& a = spec.apt_package();
      if (!IsValidPackageName(a.name())) {
        return bad(absl::StrCat("apt_package.name '", a.name().substr(0, 130),
                                "' is not a package name ([a-z0-9][a-z0-9+.-]+)"));
      }
      if (!a.version().empty() && !IsValidPackageVersion(a.version())) {
        return bad(absl::StrCat("apt_package.version '", a.version().substr(0, 130),
                                "' is not a Debian version ([0-9A-Za-z.+~:-], starting with a digit)"));
      }
      if (a.remove() && !a.version().empty()) return bad("apt_package: a removal takes no version");
      return absl::OkStatus();
    }
    case v1::JobSpec::kRestartService:
      if (!IsValidUnitName(spec.restart_service().unit())) {
        return bad(absl::StrCat("restart_service.unit '", spec.restart_service().unit().substr(0, 100),
                                "' is not a systemd unit name"));
      }
      return absl::OkStatus();
    default:
      return bad("the job has no action (install_artifact, rollback, remove_package, run_script, write_config, "
                 "restart_service or apt_package)");
  }
}

}  // namespace steward
