#pragma once
// The collector's own TCP listener in front of gRPC. gRPC 1.51 accepts on
// its own sockets without any cap, and after one accept4() EMFILE it stops
// accepting for good (grpc/grpc#20418): a thousand idle TCP connections
// from anyone who can reach the port would take the collector off the
// network. ConnectionGate accepts instead, admits a connection only under
// a total cap and a per-source-address cap, and hands admitted ones to gRPC
// (ExternalConnectionAcceptor, which runs the TLS handshake under gRPC's
// handshake deadline). What it refuses is accepted and closed at once, so
// the backlog never fills; when descriptors run out it refuses with a
// reserved descriptor and recovers as soon as they free up.
//
// Admitted connections are tracked by (descriptor, inode): gRPC does not
// say when it closes one, so a sweep every `sweep_every` drops those whose
// descriptor no longer names the same socket. Counts may lag a close by up
// to one sweep.
//
// Thread-safety: Listen/Start/Stop from one thread; stats() from any.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace grpc::experimental {
class ExternalConnectionAcceptor;
}

namespace steward::collector {

struct ConnectionGateOptions {
  // Most connections open at once; 0: derived from the file limit
  // (MaxConnectionsForFileLimit).
  size_t max_connections = 0;
  // Most connections open at once from one source address.
  size_t max_per_source = 512;
  // How often closed connections are noticed and a refusal summary logged
  // (at most one line per `summary_every`).
  absl::Duration sweep_every = absl::Seconds(1);
  // Connections accepted per second (a burst of accept_burst, then this
  // rate; 0: no limit). The rest wait in the listen backlog, or have their
  // SYN retried by the client's kernel. Each accepted connection costs a
  // TLS handshake and a Hello: after a collector restart, ten thousand
  // agents handshaking at once starve each other past the 10 s handshake
  // deadline and every attempt is wasted; paced, each one completes.
  double accepts_per_second = 500;
  double accept_burst = 500;
  absl::Duration summary_every = absl::Seconds(60);
};

// Counters since Start.
struct ConnectionGateStats {
  uint64_t admitted = 0;
  uint64_t refused_total_cap = 0;
  uint64_t refused_source_cap = 0;
  uint64_t refused_no_descriptors = 0;
  size_t open = 0;
};

// Descriptors left for everything but connections (RocksDB files, gRPC's
// own, logs): the cap is the soft file limit less this, at least 16.
inline constexpr size_t kReservedDescriptors = 256;
size_t MaxConnectionsForFileLimit(uint64_t file_limit);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit in
// force afterwards (and the one before in *before).
uint64_t RaiseFileLimit(uint64_t* before = nullptr);

class ConnectionGate {
 public:
  // Binds every address HOST resolves to (numeric or a name such as
  // localhost) on PORT (0: a free port, the same for all), without
  // SO_REUSEPORT: a second collector on the same address fails here
  // instead of stealing half the connections.
  static absl::StatusOr<std::unique_ptr<ConnectionGate>> Listen(const std::string& host, int port,
                                                                ConnectionGateOptions options);
  ~ConnectionGate();

  int port() const { return port_; }
  size_t max_connections() const { return options_.max_connections; }

  // Starts accepting; admitted connections go to `acceptor` (the server
  // must be started already, or gRPC closes them).
  void Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  // Stops accepting and closes the listening sockets (admitted connections
  // stay with gRPC). Idempotent.
  void Stop();

  ConnectionGateStats stats() const;

 private:
  ConnectionGate() = default;
  void Run();
  // Accepts up to `most` pending connections; returns how many it took.
  int AcceptFrom(int listen_fd, int most);
  // Admits or refuses one accepted connection.
  void Admit(int listen_fd, int fd, const std::string& source);
  void Sweep();
  void LogSummary(absl::Time now);

  struct Tracked {
    uint64_t inode = 0;
    std::string source;
  };

  ConnectionGateOptions options_;
  int port_ = 0;
  std::vector<int> listen_fds_;
  int wake_fd_ = -1;     // eventfd: Stop wakes the accept thread
  int reserve_fd_ = -1;  // given up to refuse a connection when out of descriptors
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Only the accept thread touches these two.
  absl::flat_hash_map<int, Tracked> tracked_;
  absl::flat_hash_map<std::string, size_t> per_source_;
  absl::Time last_summary_ = absl::InfinitePast();
  ConnectionGateStats logged_;

  mutable absl::Mutex mu_;
  ConnectionGateStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector
