#include "collector/service/session_registry.h"

#include <algorithm>

namespace steward::collector {

void SessionRegistry::Opened(const std::string& agent_id, SettingsSink* sink, std::vector<v1::Label> labels) {
  absl::MutexLock lock(&mu_);
  open_[agent_id].push_back({sink, std::move(labels)});
}

bool SessionRegistry::PushJob(const std::string& agent_id, const v1::JobSpec& job) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end() || it->second.empty()) return false;
  for (const Entry& e : it->second) e.sink->PushJob(job);
  return true;
}

void SessionRegistry::Closed(const std::string& agent_id, SettingsSink* sink) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const Entry& e) { return e.sink == sink; }), v.end());
  if (v.empty()) open_.erase(it);
}

bool SessionRegistry::IsConnected(const std::string& agent_id) const {
  absl::MutexLock lock(&mu_);
  return open_.contains(agent_id);
}

size_t SessionRegistry::ConnectedCount() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

v1::AgentSettings SettingsFor(const std::vector<v1::CheckAssignment>& checks, const std::vector<v1::Label>& labels) {
  v1::AgentSettings out;
  for (const auto& c : checks) {
    bool match = std::all_of(c.selector().begin(), c.selector().end(), [&](const v1::Label& want) {
      return std::any_of(labels.begin(), labels.end(),
                         [&](const v1::Label& l) { return l.name() == want.name() && l.value() == want.value(); });
    });
    if (match) *out.add_checks() = c.spec();
  }
  return out;
}

}  // namespace steward::collector
