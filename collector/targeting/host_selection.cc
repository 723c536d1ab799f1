#include "collector/targeting/host_selection.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

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
  // The expression tests only the items it names: those, every host's, from
  // the index by name (one seek per name instead of every host's inventory).
  absl::flat_hash_map<std::string, std::vector<v1::SoftwareItem>> named;
  for (const std::string& name : expr.PackageNames()) {
    ASSIGN_OR_RETURN(std::vector<Store::HostItem> found, store.FindSoftwareByName(absl::AsciiStrToLower(name)));
    for (Store::HostItem& hi : found) {
      if (hi.item.name() == name) named[hi.agent_id].push_back(std::move(hi.item));
    }
  }
  static const std::vector<v1::SoftwareItem> kNone;
  std::vector<internal::AgentRecord> selected;
  for (internal::AgentRecord& agent : agents) {
    bool match = false;
    if (expr.NeedsPackages()) {
      auto it = named.find(agent.agent_id());
      match = expr.Matches(TargetHostOf(agent, it == named.end() ? &kNone : &it->second));
    } else {
      match = expr.Matches(TargetHostOf(agent, nullptr));
    }
    if (match) selected.push_back(std::move(agent));
  }
  return selected;
}

}  // namespace steward::collector
