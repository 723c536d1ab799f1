#pragma once
// Deployment and host states as the command contract spells them
// ("running", "rolled_back", ...; docs/deployments.md).

#include <string>

#include "steward/v1/types.pb.h"

namespace steward {

// "running", "rolled_back", ...: the names of the command contract.
std::string DeploymentStateName(v1::DeploymentState state);
std::string DeploymentHostStatusName(v1::DeploymentHostStatus status);
bool DeploymentFinished(v1::DeploymentState state);

}  // namespace steward
