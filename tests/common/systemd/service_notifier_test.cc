#include "common/systemd/service_notifier.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward {
namespace {

// The manager's side: a bound AF_UNIX datagram socket, as systemd's
// /run/systemd/notify. `name` is a path or "@abstract".
class FakeManager {
 public:
  explicit FakeManager(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0;
    timeval timeout{5, 0};  // a missing message fails the test, not hangs it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~FakeManager() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool bound() const { return bound_; }
  // The next datagram, whole ("" on timeout).
  std::string Receive() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, n) : "";
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(ServiceNotifier, SendsEachStateAsOneDatagramToAPathSocket) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  FakeManager manager(path);
  ASSERT_TRUE(manager.bound());
  ServiceNotifier notifier(path, absl::Seconds(120));
  EXPECT_TRUE(notifier.enabled());

  ASSERT_TRUE(notifier.Ready().ok());
  EXPECT_EQ(manager.Receive(), "READY=1");
  ASSERT_TRUE(notifier.Watchdog().ok());
  EXPECT_EQ(manager.Receive(), "WATCHDOG=1");
  ASSERT_TRUE(notifier.Status("connected to\ncollector:7443").ok());
  EXPECT_EQ(manager.Receive(), "STATUS=connected to collector:7443");
  ASSERT_TRUE(notifier.Stopping().ok());
  EXPECT_EQ(manager.Receive(), "STOPPING=1");
  ASSERT_TRUE(notifier.Notify("READY=1\nSTATUS=up").ok());
  EXPECT_EQ(manager.Receive(), "READY=1\nSTATUS=up");
}

TEST(ServiceNotifier, SendsToAnAbstractSocket) {
  const std::string name = absl::StrCat("@steward-notify-test-", ::getpid());
  FakeManager manager(name);
  ASSERT_TRUE(manager.bound());
  ServiceNotifier notifier(name, absl::ZeroDuration());
  ASSERT_TRUE(notifier.Ready().ok());
  EXPECT_EQ(manager.Receive(), "READY=1");
}

TEST(ServiceNotifier, WithoutASocketEveryCallIsANoOp) {
  ServiceNotifier notifier("", absl::Seconds(60));
  EXPECT_FALSE(notifier.enabled());
  EXPECT_EQ(notifier.watchdog_interval(), absl::ZeroDuration());
  EXPECT_TRUE(notifier.Ready().ok());
  EXPECT_TRUE(notifier.Watchdog().ok());
}

TEST(ServiceNotifier, AManagerThatWentAwayIsAnErrorNamingTheSocket) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  {
    FakeManager manager(path);
    ASSERT_TRUE(manager.bound());
  }  // closed; the file stays, nobody reads it
  absl::Status st = ServiceNotifier(path, absl::ZeroDuration()).Ready();
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), path)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "refused")) << st;

  st = ServiceNotifier("relative/notify", absl::ZeroDuration()).Ready();
  EXPECT_TRUE(absl::StrContains(st.message(), "not a path or an @abstract name")) << st;
  st = ServiceNotifier("/" + std::string(200, 'x'), absl::ZeroDuration()).Ready();
  EXPECT_TRUE(absl::StrContains(st.message(), "too long")) << st;
}

// Restores the three variables a test changed.
class NotifyEnvironment : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
};

TEST_F(NotifyEnvironment, ReadsTheManagersVariablesAndUnsetsThemForChildren) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  FakeManager manager(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "120000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);

  ServiceNotifier notifier = ServiceNotifier::FromEnvironment();
  EXPECT_TRUE(notifier.enabled());
  EXPECT_EQ(notifier.watchdog_interval(), absl::Seconds(60));
  EXPECT_EQ(::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(::getenv("WATCHDOG_PID"), nullptr);
  ASSERT_TRUE(notifier.Ready().ok());
  EXPECT_EQ(manager.Receive(), "READY=1");
}

TEST_F(NotifyEnvironment, AWatchdogForAnotherProcessOrUnreadableIsNone) {
  ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
  ::setenv("WATCHDOG_USEC", "120000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::ZeroDuration());

  ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
  ::setenv("WATCHDOG_USEC", "soon", 1);
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::ZeroDuration());

  // No WATCHDOG_PID: the watchdog is this process's.
  ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
  ::setenv("WATCHDOG_USEC", "1000000", 1);
  EXPECT_EQ(ServiceNotifier::FromEnvironment().watchdog_interval(), absl::Milliseconds(500));

  // No socket: nothing to tell, no watchdog.
  ::setenv("WATCHDOG_USEC", "1000000", 1);
  ServiceNotifier none = ServiceNotifier::FromEnvironment();
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(none.watchdog_interval(), absl::ZeroDuration());
}

}  // namespace
}  // namespace steward
