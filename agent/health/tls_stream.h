#pragma once
// Client TLS for the http check, over a socket from ConnectTcp. OpenSSL
// reads and writes memory BIOs and this class moves the bytes with
// send/recv itself, so every operation honours a deadline and a closed peer
// never raises SIGPIPE.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/health/net_connect.h"

namespace steward::agent {

// How to check the server.
struct TlsClientOptions {
  // Host name or IP literal from the url: SNI (names only) and the name the
  // certificate must carry (DNS SAN, or IP SAN for a literal).
  std::string host;
  // false skips all certificate checks (the check's insecure=true).
  bool verify = true;
  // PEM CA bundle to trust; empty for the system default store.
  std::string ca_file;
  // "host:port", to name the peer in errors.
  std::string peer;
};

// A TLS 1.2+ client session. Thread safety: none; one user at a time.
class TlsStream : public ByteStream {
 public:
  ~TlsStream() override;

  // Runs the handshake on `fd` (connected, non-blocking) before `deadline`.
  // Errors: DeadlineExceeded("timeout"); Unavailable with the reason
  // ("TLS handshake with PEER: certificate verify failed: unable to get
  // local issuer certificate", "cannot load CA file /x: ...", OpenSSL's
  // error text, "TLS handshake with PEER: connection closed by the server").
  static absl::StatusOr<std::unique_ptr<TlsStream>> Handshake(UniqueFd fd,
                                                              const TlsClientOptions& options,
                                                              absl::Time deadline);

  absl::Status WriteAll(absl::string_view data, absl::Time deadline) override;
  absl::StatusOr<size_t> Read(char* buf, size_t size, absl::Time deadline) override;

 private:
  struct State;
  explicit TlsStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace steward::agent
