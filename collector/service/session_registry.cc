#include "collector/service/session_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace steward::collector {

std::optional<std::string> SessionRegistry::Opened(const std::string& agent_id, SettingsSink* sink,
                                                   std::vector<v1::Label> labels, std::string peer) {
  absl::MutexLock lock(&mu_);
  std::optional<std::string> replaced;
  auto it = open_.find(agent_id);
  if (it != open_.end() && it->second.sink != sink) {
    replaced = it->second.peer;
    it->second.sink->Close(absl::AbortedError(absl::StrCat(
        "replaced by a newer session of agent ", agent_id, peer.empty() ? "" : absl::StrCat(" from ", peer),
        " (one session per agent; two hosts with the same identity is a possible clone)")));
  }
  open_[agent_id] = Entry{sink, std::move(labels), std::move(peer)};
  return replaced;
}

bool SessionRegistry::PushJob(const std::string& agent_id, const v1::JobSpec& job) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end()) return false;
  it->second.sink->PushJob(job);
  return true;
}

bool SessionRegistry::PushCancel(const std::string& agent_id, const v1::CancelJob& cancel) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end()) return false;
  it->second.sink->PushCancel(cancel);
  return true;
}

bool SessionRegistry::RequestHealthReport(const std::string& agent_id, absl::Duration watch,
                                          const std::string& reason) {
  v1::HealthRequest request;
  request.set_reason(reason);
  request.set_watch_ms(absl::ToInt64Milliseconds(std::max(watch, absl::ZeroDuration())));
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end()) return false;
  it->second.sink->RequestHealthReport(request);
  return true;
}

void SessionRegistry::Closed(const std::string& agent_id, SettingsSink* sink) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it != open_.end() && it->second.sink == sink) open_.erase(it);
}

size_t SessionRegistry::CloseAgent(const std::string& agent_id, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end()) return 0;
  it->second.sink->Close(status);
  // Out of the registry at once: nothing more is pushed to it, and the
  // agent no longer shows as connected.
  open_.erase(it);
  return 1;
}

bool SessionRegistry::Relabel(const std::string& agent_id, std::vector<v1::Label> labels,
                              const std::function<void(SettingsSink*)>& fn) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(agent_id);
  if (it == open_.end()) return false;
  it->second.labels = std::move(labels);
  fn(it->second.sink);
  return true;
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
