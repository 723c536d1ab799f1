#pragma once
// Wires the collector together: storage (DATA_DIR/db), the time series
// (DATA_DIR/tsdb), PKI, work queue, the two gRPC services on one TLS port. Start() returns once the port is bound and
// admin.conf is written; Shutdown() stops accepting, ends open streams and
// drains queued work. Thread-safe for Shutdown from another thread.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "collector/artifacts/artifact_repository.h"
#include "collector/storage/disk_guard.h"
#include "collector/net/connection_gate.h"
#include "collector/service/agent_service.h"
#include "collector/service/service_deps.h"
#include "collector/tsdb/tsdb_store.h"

namespace grpc {
class Server;
}

namespace steward::collector {

class Store;
class CollectorPki;
class WorkQueue;
class SessionRegistry;
class AdminServiceImpl;
class RolloutEngine;
class RolloutScheduler;
class InstallCatalog;
class InstallEndpoint;
namespace http {
class HttpsServer;
}

struct CollectorOptions {
  std::string data_dir;
  // HOST:PORT; port 0 picks a free port (the chosen one is in address()).
  std::string listen = "127.0.0.1:7443";
  // HTTPS listener of the agent install endpoints (collector/install):
  // "" = the listen host with the listen port + 1 (port 0 stays 0, a free
  // port), "off" = none. Off unless asked for here; the command line's
  // default is "" (collector_config.cc).
  std::string http_listen = "off";
  // Where the agent packages served are ("" = DATA_DIR/agent-packages).
  std::string agent_packages_dir;
  // Extra DNS names / IPs for the server certificate.
  std::vector<std::string> server_names;
  int worker_threads = 4;
  size_t max_queued_work = 10000;
  // Largest message accepted from a client, bytes (Enroll and each Connect
  // message kind have smaller limits of their own).
  int max_receive_bytes = 32 << 20;
  // Connections open at once (0: the file limit less a reserve) and from
  // one source address; a TLS handshake not done within this is dropped.
  size_t max_connections = 0;
  size_t max_connections_per_source = 512;
  absl::Duration handshake_timeout = absl::Seconds(10);
  // Raise the soft file limit to the hard one at start.
  bool raise_file_limit = true;
  // What one agent may send (series, clock skew, seq jumps) and how often
  // enrollment may be tried.
  AgentLimits agent_limits;
  EnrollmentLimits enrollment_limits;
  // The clock of the services and rollouts (tests move it).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // The time-series store in DATA_DIR/tsdb (retention, rollups, head bounds).
  tsdb::TsdbOptions tsdb;
  // Largest artifact PushArtifact accepts (content in DATA_DIR/artifacts).
  uint64_t max_artifact_bytes = uint64_t{2} << 30;
  // How often rollouts advance (job results, waves, gates, windows).
  absl::Duration rollout_tick = absl::Seconds(1);
  // Free space kept on the data directory's filesystem: below it, new data
  // from agents is refused (RESOURCE_EXHAUSTED) until space returns. 0 = off.
  uint64_t min_free_disk_bytes = uint64_t{256} << 20;
  // How often idle heads are persisted and the TSDB's WAL truncated.
  absl::Duration tsdb_maintenance_every = absl::Seconds(60);
  // Lifetime of the client certificates agents get at enrollment and
  // renewal (--agent-cert-ttl).
  absl::Duration agent_cert_ttl = absl::Hours(24 * 7);
};

class CollectorServer {
 public:
  static absl::StatusOr<std::unique_ptr<CollectorServer>> Start(const CollectorOptions& options);
  ~CollectorServer();

  // The address clients should dial ("127.0.0.1:7443"), written to admin.conf.
  const std::string& address() const { return address_; }
  // https://HOST:PORT of the install endpoints ("" when off).
  const std::string& download_url() const { return download_url_; }
  // The listener's counters (admitted and refused connections).
  ConnectionGateStats connection_stats() const;
  size_t max_connections() const;
  // The open agent sessions (what the rollout engine asks for health
  // reports through). Lives as long as the server.
  SessionRegistry* sessions() const { return sessions_.get(); }
  // Stops accepting calls; calls still running after `grace` are cancelled
  // (0: at once, as a crash would end them).
  void Shutdown(absl::Duration grace = absl::Seconds(5));
  void Wait();

 private:
  CollectorServer() = default;
  std::string address_;
  std::string download_url_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<DiskGuard> disk_;
  std::unique_ptr<tsdb::TsdbStore> metrics_;
  std::unique_ptr<ArtifactBlobs> blobs_;
  std::unique_ptr<ArtifactRepository> artifacts_;
  // Runs TsdbStore::Maintain every tsdb_maintenance_every until stopped.
  std::thread maintenance_;
  absl::Notification stop_maintenance_;
  std::unique_ptr<CollectorPki> pki_;
  std::unique_ptr<WorkQueue> work_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<RolloutEngine> rollouts_;
  std::unique_ptr<RolloutScheduler> rollout_scheduler_;
  std::unique_ptr<AgentServiceImpl> agent_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ConnectionGate> gate_;
  std::unique_ptr<InstallCatalog> install_;
  std::unique_ptr<InstallEndpoint> install_endpoint_;
  std::unique_ptr<http::HttpsServer> https_;
};

// Splits "host:port" / "[v6]:port"; errors name the input.
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace steward::collector
