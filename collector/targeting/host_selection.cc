#include "collector/targeting/host_selection.h"

#include <utility>

#include "collector/storage/store.h"
#include "common/status_macros.h"

namespace steward::collector {

TargetHost TargetHostOf(const internal::AgentRecord& agent, const std::vector<v1::SoftwareItem>* software) {
  TargetHost host;
  host.agent_id = agent.agent_id();
  host.hostname = agent.facts().hostname();
  host.os_id = agent.facts().os_id();
  for (const v1::Label& l : agent.labels()) host.labels[l.name()] = l.value();
  if (software != nullptr) {
    for (const v1::SoftwareItem& item : *software) {
      host.packages.emplace(item.name(), TargetPackage{item.source(), item.version()});
    }
  }
  return host;
}

absl::StatusOr<std::vector<internal::AgentRecord>> SelectHosts(Store& store, const TargetExpr& expr) {
  ASSIGN_OR_RETURN(std::vector<internal::AgentRecord> agents, store.ListAgents());
  std::vector<internal::AgentRecord> selected;
  for (internal::AgentRecord& agent : agents) {
    bool match = false;
    if (expr.NeedsPackages()) {
      ASSIGN_OR_RETURN(std::vector<v1::SoftwareItem> software, store.ListSoftware(agent.agent_id()));
      match = expr.Matches(TargetHostOf(agent, &software));
    } else {
      match = expr.Matches(TargetHostOf(agent, nullptr));
    }
    if (match) selected.push_back(std::move(agent));
  }
  return selected;
}

}  // namespace steward::collector
