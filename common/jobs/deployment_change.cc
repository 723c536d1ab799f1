#include "common/jobs/deployment_change.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/jobs/job_spec.h"

namespace steward {

absl::StatusOr<v1::JobSpec> DeploymentChangeJob(const v1::DeploymentSpec& spec) {
  v1::JobSpec job;
  job.set_rollback_on_failure(true);
  if (spec.change_case() == v1::DeploymentSpec::kAptPackage) {
    // NAME=VERSION or NAME (the newest), from each host's repositories.
    const std::string& p = spec.apt_package();
    const size_t eq = p.find('=');
    v1::AptPackageAction* apt = job.mutable_apt_package();
    apt->set_name(p.substr(0, eq));
    apt->set_version(eq == std::string::npos ? "" : p.substr(eq + 1));
    job.set_job_id("probe");
    const absl::Status valid = ValidateJobSpec(job);
    job.clear_job_id();
    if (!valid.ok() || (eq != std::string::npos && apt->version().empty())) {
      return absl::InvalidArgumentError(
          absl::StrCat("--package '", p.substr(0, 100),
                       "' must be NAME=VERSION or NAME (a Debian package name and version)"));
    }
    return job;
  }
  if (spec.change_case() == v1::DeploymentSpec::kArtifactSha256) {
    if (!IsSha256Hex(spec.artifact_sha256())) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", spec.artifact_sha256().substr(0, 80),
                       "' is not a SHA-256 (64 lower-case hex digits)"));
    }
    job.mutable_install_artifact()->set_sha256(spec.artifact_sha256());
    return job;
  }
  return absl::InvalidArgumentError(
      "a deployment needs a change: --artifact SHA256 or --package NAME=VERSION");
}

}  // namespace steward
