#include "tests/testing/stalling_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StallingProxy>> StallingProxy::Start(const std::string& target) {
  std::unique_ptr<StallingProxy> p(new StallingProxy());
  size_t colon = target.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &p->target_port_)) {
    return absl::InvalidArgumentError(absl::StrCat("proxy target '", target, "' is not 127.0.0.1:PORT"));
  }
  p->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof(a);
  if (p->listen_fd_ < 0 || ::bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(p->listen_fd_, 16) != 0 || ::getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return absl::InternalError(absl::StrCat("proxy listen: ", std::strerror(errno)));
  }
  p->port_ = ntohs(a.sin_port);
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

StallingProxy::~StallingProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  acceptor_.join();
  for (std::thread& t : pumps_) t.join();
  for (int fd : fds_) ::close(fd);
  ::close(listen_fd_);
}

std::string StallingProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

void StallingProxy::AcceptLoop() {
  while (!stopping_) {
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR) continue;
      return;
    }
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // Small buffers on the side that stalls: the target's writes wait soon.
    int small = 16 << 10;
    ::setsockopt(upstream, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in t = Loopback(target_port_);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&t), sizeof(t)) != 0) {
      ::close(upstream);
      ::close(client);
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    fds_.push_back(client);
    fds_.push_back(upstream);
    pumps_.emplace_back([this, client, upstream] { Pump(client, upstream, false); });
    pumps_.emplace_back([this, client, upstream] { Pump(upstream, client, true); });
  }
}

void StallingProxy::Pump(int from, int to, bool from_target) {
  char buf[16 << 10];
  while (!stopping_) {
    if (from_target && stalled_) {
      ::usleep(10000);
      continue;
    }
    pollfd pfd{from, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    ssize_t n = ::read(from, buf, sizeof(buf));
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0) return;
      off += w;
    }
  }
  ::shutdown(to, SHUT_WR);
}

}  // namespace steward::testing
