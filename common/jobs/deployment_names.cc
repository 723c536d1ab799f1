#include "common/jobs/deployment_names.h"

namespace steward {

std::string DeploymentStateName(v1::DeploymentState state) {
  switch (state) {
    case v1::DEPLOYMENT_PENDING: return "pending";
    case v1::DEPLOYMENT_RUNNING: return "running";
    case v1::DEPLOYMENT_PAUSED: return "paused";
    case v1::DEPLOYMENT_SUCCEEDED: return "succeeded";
    case v1::DEPLOYMENT_FAILED: return "failed";
    case v1::DEPLOYMENT_ABORTED: return "aborted";
    case v1::DEPLOYMENT_ROLLED_BACK: return "rolled_back";
    default: return "unknown";
  }
}

std::string DeploymentHostStatusName(v1::DeploymentHostStatus status) {
  switch (status) {
    case v1::HOST_PENDING: return "pending";
    case v1::HOST_RUNNING: return "running";
    case v1::HOST_SUCCEEDED: return "succeeded";
    case v1::HOST_SKIPPED: return "skipped";
    case v1::HOST_FAILED: return "failed";
    case v1::HOST_ROLLED_BACK: return "rolled_back";
    default: return "unknown";
  }
}

bool DeploymentFinished(v1::DeploymentState state) {
  return state == v1::DEPLOYMENT_SUCCEEDED || state == v1::DEPLOYMENT_FAILED || state == v1::DEPLOYMENT_ABORTED ||
         state == v1::DEPLOYMENT_ROLLED_BACK;
}

}  // namespace steward
