#include "collector/net/connection_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "collector/net/listen_socket.h"
#include "common/status_macros.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

uint64_t InodeOf(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  return st.st_ino;
}

}  // namespace

size_t MaxConnectionsForFileLimit(uint64_t file_limit) {
  if (file_limit <= kReservedDescriptors + 16) return 16;
  return static_cast<size_t>(file_limit - kReservedDescriptors);
}

uint64_t RaiseFileLimit(uint64_t* before) {
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (before != nullptr) *before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    struct rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return lim.rlim_cur;
}

absl::StatusOr<std::unique_ptr<ConnectionGate>> ConnectionGate::Listen(const std::string& host, int port,
                                                                       ConnectionGateOptions options) {
  std::unique_ptr<ConnectionGate> gate(new ConnectionGate());
  if (options.max_connections == 0) {
    struct rlimit lim;
    uint64_t limit = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 ? lim.rlim_cur : 1024;
    options.max_connections = MaxConnectionsForFileLimit(limit);
  }
  if (options.max_per_source == 0) options.max_per_source = options.max_connections;
  gate->options_ = options;

  ASSIGN_OR_RETURN(ListenSockets bound, BindListeners(host, port));
  gate->listen_fds_ = std::move(bound.fds);
  gate->port_ = bound.port;
  gate->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  gate->reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return gate;
}

ConnectionGate::~ConnectionGate() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void ConnectionGate::Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { Run(); });
}

void ConnectionGate::Stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
}

ConnectionGateStats ConnectionGate::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void ConnectionGate::Run() {
  std::vector<pollfd> fds;
  for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({wake_fd_, POLLIN, 0});
  const bool paced = options_.accepts_per_second > 0;
  double tokens = options_.accept_burst;
  absl::Time refilled = absl::Now();
  absl::Time next_sweep = refilled + options_.sweep_every;
  while (!stopping_.load()) {
    absl::Time now = absl::Now();
    absl::Time wake = next_sweep;
    if (paced) {
      tokens = std::min(options_.accept_burst,
                        tokens + absl::ToDoubleSeconds(now - refilled) * options_.accepts_per_second);
      refilled = now;
      // Out of tokens: the listening sockets are not polled until one
      // refills, and what is pending waits in the backlog.
      if (tokens < 1) wake = std::min(wake, now + absl::Seconds((1 - tokens) / options_.accepts_per_second));
    }
    const bool accepting = !paced || tokens >= 1;
    for (size_t i = 0; i + 1 < fds.size(); ++i) fds[i].events = accepting ? POLLIN : 0;
    int timeout_ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - now)) + 1);
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::error("connection gate: poll: {}", std::strerror(errno));
      ::usleep(100000);
    }
    if (stopping_.load()) break;
    for (size_t i = 0; n > 0 && accepting && i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      // Bounded per pass so the sweep runs.
      const int most = paced ? std::min(256, static_cast<int>(tokens)) : 256;
      if (most < 1) break;
      tokens -= AcceptFrom(fds[i].fd, most);
    }
    if (absl::Now() >= next_sweep) {
      Sweep();
      next_sweep = absl::Now() + options_.sweep_every;
    }
  }
}

int ConnectionGate::AcceptFrom(int listen_fd, int most) {
  int taken = 0;
  for (int i = 0; i < most; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      ++taken;
      Admit(listen_fd, fd, SourceOf(peer));
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return taken;
    if (errno == EMFILE || errno == ENFILE) {
      // Out of descriptors: refuse the pending connection with the
      // reserved one (so the client sees a close, not a hang, and the
      // backlog drains), then take the reserve back.
      absl::MutexLock lock(&mu_);
      ++stats_.refused_no_descriptors;
      if (reserve_fd_ >= 0) {
        ::close(reserve_fd_);
        reserve_fd_ = -1;
        int refused = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (refused >= 0) ::close(refused);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      if (reserve_fd_ < 0) {
        // Someone else took the reserve: wait instead of spinning.
        ::usleep(50000);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      return taken;
    }
    spdlog::warn("connection gate: accept: {}", std::strerror(errno));
    ::usleep(10000);
    return taken;
  }
  return taken;
}

void ConnectionGate::Admit(int listen_fd, int fd, const std::string& source) {
  // A descriptor number gRPC closed may be handed out again: whatever was
  // tracked under it is gone.
  if (auto it = tracked_.find(fd); it != tracked_.end()) {
    if (--per_source_[it->second.source] == 0) per_source_.erase(it->second.source);
    tracked_.erase(it);
  }
  bool over_total = tracked_.size() >= options_.max_connections;
  size_t& from_source = per_source_[source];
  bool over_source = from_source >= options_.max_per_source;
  if (over_total || over_source) {
    if (from_source == 0) per_source_.erase(source);
    // RST rather than FIN: nothing lingers in TIME_WAIT on our side.
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    ::close(fd);
    absl::MutexLock lock(&mu_);
    ++(over_total ? stats_.refused_total_cap : stats_.refused_source_cap);
    return;
  }
  uint64_t inode = InodeOf(fd);
  ++from_source;
  tracked_[fd] = Tracked{inode, source};
  {
    absl::MutexLock lock(&mu_);
    ++stats_.admitted;
    stats_.open = tracked_.size();
  }
  grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters params;
  params.listener_fd = listen_fd;
  params.fd = fd;
  acceptor_->HandleNewConnection(&params);
}

void ConnectionGate::Sweep() {
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (InodeOf(it->first) == it->second.inode && it->second.inode != 0) {
      ++it;
      continue;
    }
    if (--per_source_[it->second.source] == 0) per_source_.erase(it->second.source);
    tracked_.erase(it++);
  }
  {
    absl::MutexLock lock(&mu_);
    stats_.open = tracked_.size();
  }
  LogSummary(absl::Now());
}

void ConnectionGate::LogSummary(absl::Time now) {
  if (now - last_summary_ < options_.summary_every) return;
  ConnectionGateStats s = stats();
  uint64_t total = s.refused_total_cap - logged_.refused_total_cap;
  uint64_t source = s.refused_source_cap - logged_.refused_source_cap;
  uint64_t fds = s.refused_no_descriptors - logged_.refused_no_descriptors;
  if (total + source + fds == 0) return;
  spdlog::warn(
      "connections refused since the last report: {} over the cap of {} open connections, {} over {} per source "
      "address, {} while out of file descriptors ({} open now)",
      total, options_.max_connections, source, options_.max_per_source, fds, s.open);
  logged_ = s;
  last_summary_ = now;
}

}  // namespace steward::collector
