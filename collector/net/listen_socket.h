#pragma once
// Listening TCP sockets and peer addresses, shared by the gRPC port's
// ConnectionGate and the HTTPS listener (collector/http).

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace steward::collector {

struct ListenSockets {
  // Non-blocking, close-on-exec listening descriptors (one per address
  // HOST resolves to); the caller closes them.
  std::vector<int> fds;
  // The port bound (the one chosen when 0 was asked for).
  int port = 0;
};

// Binds every address HOST resolves to (numeric or a name such as
// localhost; "" or "::" all addresses) on PORT (0: a free port, the same
// for all), without SO_REUSEPORT: a second process on the same address
// fails here instead of stealing half the connections. UNAVAILABLE names
// the address and why when nothing could be bound.
absl::StatusOr<ListenSockets> BindListeners(const std::string& host, int port);

// The peer's address as text ("127.0.0.1", "::1"); an IPv4 peer that came
// in on an IPv6 socket is given as IPv4, so one source is one key.
std::string SourceOf(const sockaddr_storage& addr);

}  // namespace steward::collector
