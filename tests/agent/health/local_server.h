#pragma once
// A real loopback server for the tcp and http check tests: listens on
// 127.0.0.1:0, and for each connection (optionally after a TLS handshake)
// reads the request head and answers what the test's handler says. One
// connection at a time, on its own thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "common/tls/pki.h"

namespace steward::agent::testing {

// What to do with one request.
struct Reply {
  absl::Duration delay = absl::ZeroDuration();  // Before answering.
  std::string bytes;                            // Sent as is; may be empty.
};

class LocalServer {
 public:
  using Handler = std::function<Reply(const std::string& request)>;

  // Plain TCP, or TLS with `tls` as the server's key and certificate.
  explicit LocalServer(Handler handler, std::optional<KeyAndCert> tls = std::nullopt);
  ~LocalServer();
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  uint16_t port() const { return port_; }
  // The last request head received.
  std::string last_request();
  int connections() const { return connections_.load(); }

 private:
  void Serve();
  void HandleOne(int fd);

  Handler handler_;
  std::optional<KeyAndCert> tls_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, kept out of the header.
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::string last_request_;
  std::thread thread_;
};

// An HTTP/1.1 response with the given status line tail ("200 OK") and body.
std::string HttpReply(const std::string& status, const std::string& body = "ok\n");

}  // namespace steward::agent::testing
