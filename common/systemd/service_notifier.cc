#include "common/systemd/service_notifier.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward {

ServiceNotifier ServiceNotifier::FromEnvironment() {
  const char* socket = ::getenv("NOTIFY_SOCKET");
  const char* usec = ::getenv("WATCHDOG_USEC");
  const char* pid = ::getenv("WATCHDOG_PID");
  int64_t timeout_us = 0;
  if (usec == nullptr || !absl::SimpleAtoi(usec, &timeout_us) || timeout_us <= 0) timeout_us = 0;
  // WATCHDOG_PID names the process the watchdog is for; a child that
  // inherited it from its parent must not keep the parent alive.
  int64_t for_pid = 0;
  if (pid != nullptr && *pid != '\0' && (!absl::SimpleAtoi(pid, &for_pid) || for_pid != ::getpid()))
    timeout_us = 0;
  ServiceNotifier notifier(socket != nullptr ? socket : "", absl::Microseconds(timeout_us));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  return notifier;
}

ServiceNotifier::ServiceNotifier(std::string socket, absl::Duration watchdog_timeout)
    : socket_(std::move(socket)), watchdog_timeout_(watchdog_timeout) {
  if (socket_.empty()) watchdog_timeout_ = absl::ZeroDuration();  // nobody to tell
}

std::vector<std::string> ServiceNotifier::EnvironmentForExec() const {
  if (socket_.empty()) return {};
  std::vector<std::string> env = {absl::StrCat("NOTIFY_SOCKET=", socket_)};
  if (watchdog_timeout_ > absl::ZeroDuration()) {
    env.push_back(absl::StrCat("WATCHDOG_USEC=", absl::ToInt64Microseconds(watchdog_timeout_)));
    env.push_back(absl::StrCat("WATCHDOG_PID=", ::getpid()));
  }
  return env;
}

absl::Status ServiceNotifier::Status(std::string_view text) const {
  std::string line(text);
  std::replace(line.begin(), line.end(), '\n', ' ');
  return Notify(absl::StrCat("STATUS=", line));
}

absl::Status ServiceNotifier::Notify(std::string_view state) const {
  if (socket_.empty()) return absl::OkStatus();
  auto error = [&](absl::string_view why) {
    return absl::UnavailableError(absl::StrCat("notify socket ", socket_, ": ", why));
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // "@name" is Linux's abstract namespace: a leading NUL, no file.
  if (socket_[0] != '/' && socket_[0] != '@') return error("not a path or an @abstract name");
  if (socket_.size() >= sizeof addr.sun_path) return error("name too long");
  memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return error(absl::StrCat("cannot create a datagram socket: ", strerror(errno)));
  ssize_t sent;
  do {
    sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                    reinterpret_cast<const sockaddr*>(&addr), len);
  } while (sent < 0 && errno == EINTR);
  const int sent_errno = errno;
  ::close(fd);
  if (sent < 0) return error(strerror(sent_errno));
  if (static_cast<size_t>(sent) != state.size()) return error("message cut short");
  return absl::OkStatus();
}

}  // namespace steward
