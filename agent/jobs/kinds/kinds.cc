// The registration list of the agent's job kinds: one row per kind.
#include "agent/jobs/kinds/kinds.h"

namespace steward::agent {
namespace {

constexpr AgentJobKind kAgentJobKinds[] = {
    // action, run, roll_back, changed, keeps_packages, undo_needs_full_record
    {v1::JobSpec::kInstallArtifact, &RunInstallArtifact, &RollBackPackageChange,
     &InstallArtifactChanged, true, false},
    {v1::JobSpec::kRollback, &RunRollback, nullptr, &Succeeded, false, false},
    {v1::JobSpec::kRemovePackage, &RunRemovePackage, &RollBackPackageChange, &Succeeded, true,
     false},
    {v1::JobSpec::kRunScript, &RunScript, nullptr, &Succeeded, false, false},
    {v1::JobSpec::kWriteConfig, &RunWriteConfig, &RollBackWriteConfig, &WriteConfigChanged, false,
     true},
    {v1::JobSpec::kRestartService, &RunRestartService, nullptr, &Succeeded, false, false},
    {v1::JobSpec::kAptPackage, &RunAptPackage, &RollBackAptPackage, &AptPackageChanged, false,
     false},
};

}  // namespace

const AgentJobKind* FindAgentJobKind(v1::JobSpec::ActionCase action) {
  for (const AgentJobKind& k : kAgentJobKinds) {
    if (k.action == action) return &k;
  }
  return nullptr;
}

bool Succeeded(const internal::AgentJobRecord& target) {
  return target.result().status() == v1::JOB_SUCCEEDED;
}

}  // namespace steward::agent
