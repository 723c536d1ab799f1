// ConnectionGate with a recording acceptor in place of gRPC: real sockets
// on loopback, real accept4, real descriptor exhaustion (RLIMIT_NOFILE
// lowered in a forked child).
#include "collector/net/connection_gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace steward::collector {
namespace {

class RecordingAcceptor final : public grpc::experimental::ExternalConnectionAcceptor {
 public:
  void HandleNewConnection(NewConnectionParameters* p) override {
    absl::MutexLock lock(&mu_);
    fds_.push_back(p->fd);
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return fds_.size();
  }
  void CloseAll() {
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }
  ~RecordingAcceptor() override { CloseAll(); }

 private:
  absl::Mutex mu_;
  std::vector<int> fds_;
};

int Dial(int port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed (or reset) the connection within `wait`.
bool ClosedByServer(int fd, absl::Duration wait = absl::Seconds(3)) {
  timeval tv{static_cast<time_t>(absl::ToInt64Seconds(wait)), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  ssize_t n = ::recv(fd, &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(5)) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

TEST(ConnectionGate, CapsConnectionsPerSourceAddress) {
  ConnectionGateOptions options;
  options.max_connections = 100;
  options.max_per_source = 3;
  options.sweep_every = absl::Milliseconds(50);
  auto gate = ConnectionGate::Listen("127.0.0.1", 0, options);
  ASSERT_TRUE(gate.ok()) << gate.status();
  auto acceptor = std::make_unique<RecordingAcceptor>();
  RecordingAcceptor* seen = acceptor.get();
  (*gate)->Start(std::move(acceptor));
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(Dial((*gate)->port()));
  ASSERT_TRUE(WaitFor([&] { return (*gate)->stats().refused_source_cap == 2; }));
  EXPECT_EQ(seen->count(), 3u);
  EXPECT_TRUE(ClosedByServer(clients[3]));
  EXPECT_TRUE(ClosedByServer(clients[4]));
  // Another source address is not held back by the first one's cap.
  int other = Dial((*gate)->port(), "127.0.0.2");
  ASSERT_TRUE(WaitFor([&] { return seen->count() == 4; }));
  // Once the admitted connections close, the source may connect again.
  seen->CloseAll();
  ASSERT_TRUE(WaitFor([&] { return (*gate)->stats().open == 0; }));
  int again = Dial((*gate)->port());
  ASSERT_TRUE(WaitFor([&] { return seen->count() == 1; }));
  EXPECT_EQ((*gate)->stats().admitted, 5u);
  for (int fd : clients) ::close(fd);
  ::close(other);
  ::close(again);
}

TEST(ConnectionGate, CapsTotalConnections) {
  ConnectionGateOptions options;
  options.max_connections = 4;
  options.sweep_every = absl::Milliseconds(50);
  auto gate = ConnectionGate::Listen("127.0.0.1", 0, options);
  ASSERT_TRUE(gate.ok()) << gate.status();
  auto acceptor = std::make_unique<RecordingAcceptor>();
  RecordingAcceptor* seen = acceptor.get();
  (*gate)->Start(std::move(acceptor));
  std::vector<int> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(Dial((*gate)->port(), i % 2 ? "127.0.0.3" : "127.0.0.4"));
  ASSERT_TRUE(WaitFor([&] { return (*gate)->stats().refused_total_cap == 6; }));
  EXPECT_EQ(seen->count(), 4u);
  for (int fd : clients) ::close(fd);
}

// A burst of 5, then 20 a second: 45 connections waiting in the backlog
// are taken in about 2 s, never faster than the rate allows, and all of
// them in the end (none refused: pacing is not a cap).
TEST(ConnectionGate, PacesAcceptsAndLeavesTheRestInTheBacklog) {
  ConnectionGateOptions options;
  options.max_connections = 1000;
  options.accepts_per_second = 20;
  options.accept_burst = 5;
  auto gate = ConnectionGate::Listen("127.0.0.1", 0, options);
  ASSERT_TRUE(gate.ok()) << gate.status();
  std::vector<int> clients;
  for (int i = 0; i < 45; ++i) clients.push_back(Dial((*gate)->port(), i % 2 ? "127.0.0.5" : "127.0.0.6"));
  for (int fd : clients) ASSERT_GE(fd, 0);  // the kernel completed every TCP handshake
  auto acceptor = std::make_unique<RecordingAcceptor>();
  RecordingAcceptor* seen = acceptor.get();
  const absl::Time start = absl::Now();
  (*gate)->Start(std::move(acceptor));
  size_t most_by_1s = 0;
  while (absl::Now() - start < absl::Seconds(1)) {
    most_by_1s = std::max(most_by_1s, seen->count());
    absl::SleepFor(absl::Milliseconds(10));
  }
  // At most the burst plus one second of the rate (and one token of slack).
  EXPECT_LE(most_by_1s, 5u + 20u + 1u);
  EXPECT_GE(most_by_1s, 5u);
  ASSERT_TRUE(WaitFor([&] { return seen->count() == 45; }, absl::Seconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1900));  // 40 after the burst at 20 a second
  ConnectionGateStats stats = (*gate)->stats();
  EXPECT_EQ(stats.admitted, 45u);
  EXPECT_EQ(stats.refused_total_cap + stats.refused_source_cap, 0u);
  for (int fd : clients) ::close(fd);
}

TEST(ConnectionGate, SecondListenerOnTheSameAddressFails) {
  auto first = ConnectionGate::Listen("127.0.0.1", 0, {});
  ASSERT_TRUE(first.ok());
  auto second = ConnectionGate::Listen("127.0.0.1", (*first)->port(), {});
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
}

TEST(ConnectionGate, DerivesItsCapFromTheFileLimit) {
  EXPECT_EQ(MaxConnectionsForFileLimit(1024), 1024u - kReservedDescriptors);
  EXPECT_EQ(MaxConnectionsForFileLimit(100), 16u);
  EXPECT_EQ(MaxConnectionsForFileLimit(1u << 20), (1u << 20) - kReservedDescriptors);
}

// Out of descriptors (the cap set above the file limit on purpose, as when
// something else holds them): connections are refused, not left in the
// backlog, and accepting resumes by itself once descriptors free up. Runs
// in a child so the lowered limit stays there.
TEST(ConnectionGate, RecoversAfterRunningOutOfDescriptors) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    rlimit lim{64, 64};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(10);
    ConnectionGateOptions options;
    options.max_connections = 1000;
    options.max_per_source = 1000;
    options.sweep_every = absl::Milliseconds(50);
    auto gate = ConnectionGate::Listen("127.0.0.1", 0, options);
    if (!gate.ok()) _exit(11);
    auto acceptor = std::make_unique<RecordingAcceptor>();
    RecordingAcceptor* seen = acceptor.get();
    (*gate)->Start(std::move(acceptor));
    // Fill the table: the client's own ends count against the same limit,
    // so dial from a helper process that has its own.
    int port = (*gate)->port();
    pid_t dialer = fork();
    if (dialer == 0) {
      rlimit more{4096, 4096};
      setrlimit(RLIMIT_NOFILE, &more);
      std::vector<int> held;
      for (int i = 0; i < 120; ++i) held.push_back(Dial(port));
      absl::SleepFor(absl::Seconds(1));
      _exit(0);
    }
    if (!WaitFor([&] { return (*gate)->stats().refused_no_descriptors > 0; })) _exit(12);
    size_t admitted = seen->count();
    if (admitted == 0 || admitted >= 64) _exit(13);
    int status = 0;
    waitpid(dialer, &status, 0);
    seen->CloseAll();
    // Descriptors are free again: a new connection is admitted.
    int fd = Dial(port);
    if (fd < 0) _exit(14);
    if (!WaitFor([&] { return seen->count() == 1; })) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child step failed (see the exit codes in the test)";
}

}  // namespace
}  // namespace steward::collector
