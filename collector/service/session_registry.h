#pragma once
// Which agents have an open Connect stream on this collector right now.
// Thread-safe.

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace steward::collector {

class SessionRegistry {
 public:
  void Opened(const std::string& agent_id);
  void Closed(const std::string& agent_id);
  bool IsConnected(const std::string& agent_id) const;
  size_t ConnectedCount() const;

 private:
  mutable absl::Mutex mu_;
  // Open streams per agent (a reconnect may overlap the old stream briefly).
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector
