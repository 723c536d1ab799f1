#pragma once
// TCP connect with a deadline for the tcp and http checks: getaddrinfo, then
// a non-blocking connect to each address in turn until one succeeds.

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward::agent {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Connects to host:port before `deadline`. The socket is returned in
// non-blocking mode. Errors: DeadlineExceeded("timeout") when the deadline
// passes; Unavailable("connect HOST:PORT: <strerror>") when every address
// failed (the last address's error), or when the name does not resolve.
// Name resolution itself is not bounded by the deadline (getaddrinfo).
absl::StatusOr<UniqueFd> ConnectTcp(const std::string& host, uint16_t port, absl::Time deadline);

// Waits until `fd` is readable (`for_write` false) or writable before
// `deadline`: OK, DeadlineExceeded("timeout") or Unavailable (poll error).
absl::Status WaitFd(int fd, bool for_write, absl::Time deadline);

// A connected byte stream with deadlines: a plain socket or TLS over one.
// Errors: DeadlineExceeded("timeout") when the deadline passes, Unavailable
// otherwise. Thread safety: none; one user at a time.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Writes all of `data`.
  virtual absl::Status WriteAll(absl::string_view data, absl::Time deadline) = 0;
  // Reads up to `size` bytes into `buf`; 0 means the peer closed.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t size, absl::Time deadline) = 0;
};

// ByteStream over a connected non-blocking socket (send/recv with
// MSG_NOSIGNAL: a peer that closed never raises SIGPIPE). Owns the socket.
class SocketStream : public ByteStream {
 public:
  explicit SocketStream(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::Status WriteAll(absl::string_view data, absl::Time deadline) override;
  absl::StatusOr<size_t> Read(char* buf, size_t size, absl::Time deadline) override;
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

// Sends all of `data` on the non-blocking socket `fd` (MSG_NOSIGNAL).
absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline);
// One recv of up to `size` bytes on the non-blocking socket `fd`, waiting
// for data until `deadline`; 0 when the peer closed.
absl::StatusOr<size_t> RecvSome(int fd, char* buf, size_t size, absl::Time deadline);

// "host:port", "[v6]:port".
std::string JoinHostPort(const std::string& host, uint16_t port);

}  // namespace steward::agent
