#pragma once
// A TCP proxy on 127.0.0.1 for tests: forwards every connection to a target
// address, byte for byte (TLS passes through untouched), and on Stall()
// stops reading what the target sends, so the target sees a peer whose
// process hung: its writes fill the socket buffers and the HTTP/2 window,
// then wait. Thread-safe; stops and joins on destruction.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace steward::testing {

class StallingProxy {
 public:
  // target: "127.0.0.1:PORT".
  static absl::StatusOr<std::unique_ptr<StallingProxy>> Start(const std::string& target);
  ~StallingProxy();

  // "127.0.0.1:PORT" to dial instead of the target.
  std::string address() const;
  // From now on nothing the target sends is read (on every connection).
  void Stall() { stalled_ = true; }

 private:
  StallingProxy() = default;
  void AcceptLoop();
  void Pump(int from, int to, bool from_target);

  int listen_fd_ = -1;
  int port_ = 0;
  int target_port_ = 0;
  std::atomic<bool> stalled_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace steward::testing
