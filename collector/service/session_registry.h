#pragma once
// Which agents have an open Connect stream on this collector right now, and
// a way to push settings to them. Thread-safe. A session registers after its
// Hello and unregisters in OnDone before it is deleted, so a pointer in the
// registry is always alive while the registry's lock is held.
//
// One session per agent identity: a session registering for an agent that
// already has one replaces it, and the older one is closed. A real agent
// reconnecting after a NAT drop (its old stream not yet timed out) just
// takes over; a second holder of the same key (a clone) and the agent keep
// replacing each other, each time logged with both addresses. A pushed job
// therefore goes to one stream, never once per stream.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/agent.pb.h"

namespace steward::collector {

// A session that can receive pushed settings.
class SettingsSink {
 public:
  virtual ~SettingsSink() = default;
  // Queues `settings` for the agent; must not block.
  virtual void PushSettings(const v1::AgentSettings& settings) = 0;
  // Queues a job for the agent; must not block.
  virtual void PushJob(const v1::JobSpec& job) = 0;
  // Queues a cancel of a withdrawn job; must not block.
  virtual void PushCancel(const v1::CancelJob& cancel) = 0;
  // Queues a "report your health now" for the agent; must not block. The
  // default drops it (sinks in tests that do not care).
  virtual void RequestHealthReport(const v1::HealthRequest& request) { (void)request; }
  // Ends the session with `status` (replaced, agent disabled or removed):
  // it applies nothing more. Must not block, and must not end the call
  // inline (it is called under the registry's lock, which the session's
  // own end takes).
  virtual void Close(const absl::Status& status) { (void)status; }
};

class SessionRegistry {
 public:
  // Registers `sink` as the agent's session. When the agent had another
  // one, that one is closed (ABORTED, naming `peer`) and its peer address
  // is returned, for the caller's "possible clone" warning.
  std::optional<std::string> Opened(const std::string& agent_id, SettingsSink* sink, std::vector<v1::Label> labels,
                                    std::string peer = "");
  // Unregisters `sink` (nothing when it was replaced meanwhile).
  void Closed(const std::string& agent_id, SettingsSink* sink);
  // Closes the agent's session, if any, with `status`; how many were closed.
  size_t CloseAgent(const std::string& agent_id, const absl::Status& status);
  // Gives the agent's session `labels` (what ForEach reports from now on)
  // and calls fn(sink) under the lock; false when the agent has none.
  bool Relabel(const std::string& agent_id, std::vector<v1::Label> labels,
               const std::function<void(SettingsSink*)>& fn);
  bool IsConnected(const std::string& agent_id) const;
  // Sends `job` on the agent's open streams; false when it has none (it
  // gets the job after its next Welcome).
  bool PushJob(const std::string& agent_id, const v1::JobSpec& job);
  // Sends a withdrawn job's cancel on the agent's stream; false when it has
  // none (it gets the cancel after its next Welcome).
  bool PushCancel(const std::string& agent_id, const v1::CancelJob& cancel);
  // Asks the agent's open session to report its health now: the agent runs
  // its application checks at once and sends a HealthReport even when no
  // state changed (it arrives within about a second on a live link), then
  // for `watch` runs them every second and reports any change at once,
  // instead of at its collection interval. For a rollout's health gate:
  // call it when the gate starts, with the gate's length as `watch`, so the
  // gate has reports newer than the job's result without waiting for the
  // agent's periodic refresh, and a check that fails during the gate is
  // seen within a second or two. `reason` goes to the agent's log. Returns
  // whether a session got the request (false: the agent is not connected;
  // a reconnect does not make it report, so ask again once IsConnected).
  // Nothing is queued for an agent that is not connected.
  // The agent caps `watch` at one hour; a later request extends a watch
  // under way, never cuts it.
  bool RequestHealthReport(const std::string& agent_id, absl::Duration watch = absl::Minutes(1),
                           const std::string& reason = "the collector asks");
  size_t ConnectedCount() const;
  // Runs fn() under the settings lock. Whoever reads the checks to push
  // settings from them (a session after its Welcome, an admin change to
  // every session) does both under it, so the settings an agent gets last
  // were read last: otherwise a session that read the checks just before a
  // change could queue its older settings after the change's push. Order:
  // this lock, then the registry's, then a session's.
  template <typename Fn>
  auto WithSettingsLock(Fn fn) {
    absl::MutexLock lock(&settings_mu_);
    return fn();
  }
  // Calls fn(agent_id, labels, sink) for every open session, under the lock.
  template <typename Fn>
  void ForEach(Fn fn) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : open_) fn(id, e.labels, e.sink);
  }

 private:
  struct Entry {
    SettingsSink* sink;
    std::vector<v1::Label> labels;
    std::string peer;
  };
  absl::Mutex settings_mu_;
  mutable absl::Mutex mu_;
  // The open stream of each agent.
  absl::flat_hash_map<std::string, Entry> open_ ABSL_GUARDED_BY(mu_);
};

// The pushed checks that apply to an agent with `labels`: those whose
// selector labels are all among the agent's.
v1::AgentSettings SettingsFor(const std::vector<v1::CheckAssignment>& checks, const std::vector<v1::Label>& labels);

}  // namespace steward::collector
