#include "agent/health/tcp_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/health/check_test_util.h"

namespace steward::agent {
namespace {

using ::testing::HasSubstr;
using testing::Metric;
using ::testing::Optional;
using testing::RunOnce;
using testing::Spec;

// A socket bound to 127.0.0.1:0, listening when `backlog` >= 0.
struct Listener {
  explicit Listener(int backlog) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    if (backlog >= 0) {
      EXPECT_EQ(listen(fd, backlog), 0);
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  int fd = -1;
  uint16_t port = 0;
};

TEST(TcpCheck, ListeningPortIsOk) {
  Listener l(16);
  CheckOutcome out = RunOnce(Spec("pg", "tcp", {{"address", l.address()}}));
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_EQ(out.reason, "");
  auto latency = Metric(out.metrics, "app_check_latency_seconds", "pg");
  ASSERT_TRUE(latency.has_value());
  EXPECT_GT(*latency, 0);
  EXPECT_LT(*latency, 1);
  EXPECT_EQ(out.metrics.size(), 1u);
}

TEST(TcpCheck, ClosedPortIsDownWithRefused) {
  uint16_t port;
  {
    Listener bound_only(-1);  // Bound, not listening: connections are refused.
    port = bound_only.port;
  }
  CheckOutcome out = RunOnce(Spec("pg", "tcp", {{"address", absl::StrCat("127.0.0.1:", port)}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("connect 127.0.0.1:", port, ": Connection refused"));
  EXPECT_TRUE(out.metrics.empty());
}

TEST(TcpCheck, SlowZeroIsDegraded) {
  Listener l(16);
  CheckOutcome out = RunOnce(Spec("pg", "tcp", {{"address", l.address()}, {"slow", "0s"}}));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_THAT(out.reason, HasSubstr("slow: connect took "));
  EXPECT_THAT(out.reason, HasSubstr("(slow above 0)"));
  EXPECT_TRUE(Metric(out.metrics, "app_check_latency_seconds", "pg").has_value());
}

TEST(TcpCheck, FullAcceptQueueTimesOut) {
  // Backlog 0 with one unaccepted connection: Linux drops further SYNs, so
  // the next connect hangs until the check's timeout.
  Listener l(0);
  int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(l.port);
  ASSERT_EQ(connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int filler2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  connect(filler2, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const absl::Time start = absl::Now();
  CheckOutcome out = RunOnce(Spec("pg", "tcp", {{"address", l.address()}, {"timeout", "300ms"}}));
  const absl::Duration took = absl::Now() - start;
  close(filler);
  close(filler2);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("connect ", l.address(), ": timeout after 300ms"));
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(2));
}

TEST(MakeCheck, RefusesInvalidSpecs) {
  auto check = MakeCheck(Spec("pg", "tcp", {{"address", "nope"}}), CheckEnv());
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.status().message(), HasSubstr("check 'pg': param 'address'"));
}

}  // namespace
}  // namespace steward::agent
