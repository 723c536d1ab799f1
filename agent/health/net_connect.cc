#include "agent/health/net_connect.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace steward::agent {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

std::string JoinHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::Status WaitFd(int fd, bool for_write, absl::Time deadline) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("timeout");
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    // Round up so a sub-millisecond remainder does not spin.
    int ms = static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
    int n = poll(&p, 1, ms);
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("poll: ", strerror(errno)));
    }
  }
}

absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto s = WaitFd(fd, /*for_write=*/true, deadline); !s.ok()) return s;
      continue;
    }
    return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> RecvSome(int fd, char* buf, size_t size, absl::Time deadline) {
  while (true) {
    ssize_t n = recv(fd, buf, size, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto s = WaitFd(fd, /*for_write=*/false, deadline); !s.ok()) return s;
      continue;
    }
    return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
  }
}

absl::Status SocketStream::WriteAll(absl::string_view data, absl::Time deadline) {
  return SendAll(fd_.get(), data, deadline);
}

absl::StatusOr<size_t> SocketStream::Read(char* buf, size_t size, absl::Time deadline) {
  return RecvSome(fd_.get(), buf, size, deadline);
}

absl::StatusOr<UniqueFd> ConnectTcp(const std::string& host, uint16_t port, absl::Time deadline) {
  const std::string where = JoinHostPort(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string service = absl::StrCat(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc == EAI_NONAME || rc == EAI_FAMILY || rc == EAI_ADDRFAMILY) {
    // AI_ADDRCONFIG hides loopback-only families on hosts without another
    // interface; retry without it.
    hints.ai_flags = 0;
    rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect ", where, ": cannot resolve '", host, "': ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  UniqueFd connected;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last_error = strerror(errno);
      continue;
    }
    int err = 0;
    if (connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = strerror(errno);
        continue;
      }
      absl::Status waited = WaitFd(fd.get(), /*for_write=*/true, deadline);
      if (!waited.ok()) {
        if (absl::IsDeadlineExceeded(waited)) {
          freeaddrinfo(res);
          return waited;
        }
        last_error = std::string(waited.message());
        continue;
      }
      socklen_t len = sizeof err;
      if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        last_error = strerror(err);
        continue;
      }
    }
    connected = std::move(fd);
    break;
  }
  freeaddrinfo(res);
  if (connected.get() < 0) {
    return absl::UnavailableError(absl::StrCat("connect ", where, ": ", last_error));
  }
  return connected;
}

}  // namespace steward::agent
