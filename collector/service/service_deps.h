#pragma once
// What the collector's gRPC services share. Owned by CollectorServer; every
// pointer outlives the services. All pointees are thread-safe.

#include <functional>
#include <string>

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
class InstallCatalog;
class DiskGuard;

// What one agent may send (docs/protocol.md, "Limits").
struct AgentLimits {
  // Series one agent may have in the time-series store, and create per
  // minute; new series beyond either are refused (known ones keep flowing).
  size_t max_series = 20000;
  size_t max_new_series_per_minute = 10000;
  // Times (envelope, samples, checks, job results) later than the
  // collector's clock by more than this are refused.
  absl::Duration max_clock_skew = absl::Minutes(10);
  // An envelope's seq may exceed the last applied one by at most this
  // (more is a forged seq that would make the agent's real envelopes look
  // like resends forever).
  uint64_t max_seq_jump = uint64_t{1} << 28;
  // Messages (and their bytes) waiting to be written to one agent: an agent
  // that stops reading its stream (stuck, or hostile) is cut off when
  // either is passed, instead of holding collector memory without end.
  size_t max_queued_messages = 1024;
  size_t max_queued_bytes = size_t{16} << 20;
};

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
  // Refuses enrollments, sessions and envelopes while the disk is nearly
  // full (--min-free-disk); null = no check.
  DiskGuard* disk = nullptr;
  AgentLimits limits;
  // The data directory (backups copy its credential and artifact files).
  std::string data_dir;
  // Injectable clock (tests move time without sleeping).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Lifetime of the agent certificates the collector signs (--agent-cert-ttl).
  absl::Duration agent_cert_ttl = absl::Hours(24 * 7);
  // Agent install parameters and packages (GetInstallInfo); null when the
  // HTTPS listener is off.
  const InstallCatalog* install = nullptr;
  // When the collector started (GetVersion), by `now`.
  absl::Time started = absl::UnixEpoch();
};

}  // namespace steward::collector
