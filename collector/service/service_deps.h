#pragma once
// What the collector's gRPC services share. Owned by CollectorServer; every
// pointer outlives the services. All pointees are thread-safe.

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward::collector {
namespace tsdb {
class TsdbStore;
}  // namespace tsdb

class Store;
class ArtifactRepository;
class CollectorPki;
class WorkQueue;
class SessionRegistry;
class RolloutEngine;

struct ServiceDeps {
  Store* store = nullptr;
  // The time series (metric batches go here; QueryMetrics reads here).
  tsdb::TsdbStore* metrics = nullptr;
  CollectorPki* pki = nullptr;
  // Pushed artifacts (metadata and content); null in tests without them.
  ArtifactRepository* artifacts = nullptr;
  WorkQueue* work = nullptr;
  SessionRegistry* sessions = nullptr;
  // Staged rollouts (deployments); null in tests without them.
  RolloutEngine* rollouts = nullptr;
  // Injectable clock (tests move time without sleeping).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Lifetime of the agent certificates the collector signs (--agent-cert-ttl).
  absl::Duration agent_cert_ttl = absl::Hours(24 * 7);
};

}  // namespace steward::collector
