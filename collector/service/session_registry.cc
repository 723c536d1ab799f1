#include "collector/service/session_registry.h"

namespace steward::collector {

void SessionRegistry::Opened(const std::string& agent_id) {
  absl::MutexLock lock(&mu_);
  ++open_[agent_id];
}

void SessionRegistry::Closed(const std::string& agent_id) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

bool SessionRegistry::IsConnected(const std::string& agent_id) const {
  absl::MutexLock lock(&mu_);
  return open_.contains(agent_id);
}

size_t SessionRegistry::ConnectedCount() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

}  // namespace steward::collector
