#pragma once
// The collector's HTTPS listener: HTTP/1.1 over TLS (the collector's server
// certificate), GET and HEAD, one request per connection. It serves the
// agent install endpoints today (collector/install) and is where the JSON
// API, /metrics and the console go next.
//
// Anyone who reaches the port may connect, so everything is bounded:
// connections at once in total and per source address (over the cap a
// connection is closed at once), the TLS handshake and the request head
// within `request_timeout`, each write of a response within
// `write_timeout`, the head to http::kMaxHeadBytes. One thread per admitted
// connection (at most max_connections) plus the accept thread.
//
// Thread-safety: the handler is called from connection threads at once;
// Stop from any thread (also from the destructor).

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/http/http_request.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace steward::collector::http {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Further headers (Content-Length, Connection and the security headers
  // are added by the server).
  std::vector<std::pair<std::string, std::string>> headers;
  // The body; or, when file_path is set, that file's content is streamed
  // instead (an error opening it answers 500).
  std::string body;
  std::string file_path;

  // A plain-text error answer: "error: <message>\n".
  static HttpResponse Error(int status, std::string message);
};

// What the handler is told about the caller.
struct HttpPeer {
  std::string address;  // "127.0.0.1", "::1"
  // The subject CN of the client certificate the caller presented, when
  // one was presented and verified against HttpsServerOptions.client_ca_pem
  // ("agent/<id>"); "" otherwise.
  std::string client_cn;
  // Its serial, lower-case hex without leading zeros ("" without one).
  std::string client_serial;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&, const HttpPeer&)>;

struct HttpsServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port (port() says which)
  // The server certificate (chain) and key, PEM.
  std::string cert_pem;
  std::string key_pem;
  // Client certificates are asked for (never required) and verified
  // against this CA when it is set.
  std::string client_ca_pem;
  size_t max_connections = 64;
  size_t max_per_source = 8;
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(30);
};

// Counters since Start.
struct HttpsServerStats {
  uint64_t admitted = 0;
  uint64_t refused_cap = 0;
  uint64_t handshake_failures = 0;
  uint64_t bad_requests = 0;
  uint64_t responses = 0;
};

class HttpsServer {
 public:
  // Binds (BindListeners: no SO_REUSEPORT) and starts accepting.
  static absl::StatusOr<std::unique_ptr<HttpsServer>> Start(HttpsServerOptions options, HttpHandler handler);
  ~HttpsServer();

  int port() const { return port_; }
  HttpsServerStats stats() const;
  // Stops accepting, cuts open connections and waits for their threads.
  // Idempotent.
  void Stop();

 private:
  HttpsServer() = default;
  void AcceptLoop();
  void Serve(int fd, std::string source);
  void Release(int fd, const std::string& source);

  HttpsServerOptions options_;
  HttpHandler handler_;
  SSL_CTX* ctx_ = nullptr;
  std::vector<int> listen_fds_;
  int port_ = 0;
  int wake_fd_ = -1;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};

  mutable absl::Mutex mu_;
  absl::flat_hash_set<int> open_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> per_source_ ABSL_GUARDED_BY(mu_);
  HttpsServerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector::http
