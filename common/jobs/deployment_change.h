#pragma once
// The job a deployment runs on each of its hosts, from its DeploymentSpec:
// one definition for the rollout engine (which creates the jobs) and
// stewardctl (which signs what they will do before the deployment exists).

#include "absl/status/statusor.h"
#include "steward/v1/types.pb.h"

namespace steward {

// The action (install_artifact for `artifact_sha256`, apt_package for
// `apt_package` NAME=VERSION or NAME) with rollback_on_failure set; no job
// id. InvalidArgument naming the flag for a malformed change or none.
absl::StatusOr<v1::JobSpec> DeploymentChangeJob(const v1::DeploymentSpec& spec);

}  // namespace steward
