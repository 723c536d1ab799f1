#include "agent/health/health_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/health/check_test_util.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Metric;
using ::testing::Optional;
using testing::Spec;

constexpr char kActive[] = "ActiveState=active\nSubState=running\nNRestarts=0\n";
constexpr char kFailed[] =
    "ActiveState=failed\nSubState=failed\nResult=exit-code\nExecMainCode=1\nExecMainStatus=2\n"
    "NRestarts=0\n";

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// systemctl answers per unit from a map the test changes between runs.
struct FakeUnits {
  std::map<std::string, std::string> output;
};

CheckEnv EnvFor(std::shared_ptr<FakeUnits> units) {
  CheckEnv env;
  env.systemctl_show = [units](const std::string& unit) -> absl::StatusOr<std::string> {
    return units->output[unit];
  };
  return env;
}

// A real listening socket on 127.0.0.1:0.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd_); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

const v1::CheckState* Find(const v1::HealthReport& report, const std::string& name) {
  for (const auto& c : report.checks()) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

TEST(HealthRunner, ReportsEveryCheckWithOriginAndUpMetric) {
  auto units = std::make_shared<FakeUnits>();
  units->output["a.service"] = kActive;
  units->output["b.service"] = kFailed;
  Listener listener;
  HealthRunner runner(EnvFor(units));
  ASSERT_TRUE(runner
                  .SetChecks({Spec("unit-a", "systemd", {{"unit", "a.service"}}),
                              Spec("port", "tcp", {{"address", listener.address()}})},
                             {Spec("unit-b", "systemd", {{"unit", "b.service"}})})
                  .ok());
  EXPECT_THAT(runner.last_errors(), IsEmpty());
  RunResult r = runner.RunAll(kT0);
  ASSERT_EQ(r.report.checks_size(), 3);
  // Sorted by name.
  EXPECT_EQ(r.report.checks(0).name(), "port");
  EXPECT_EQ(r.report.checks(1).name(), "unit-a");
  EXPECT_EQ(r.report.checks(2).name(), "unit-b");

  const v1::CheckState& port = r.report.checks(0);
  EXPECT_EQ(port.type(), "tcp");
  EXPECT_EQ(port.status(), v1::CheckState::OK);
  EXPECT_EQ(port.origin(), "config");
  EXPECT_EQ(port.time_ms(), absl::ToUnixMillis(kT0));
  EXPECT_EQ(port.since_ms(), absl::ToUnixMillis(kT0));

  const v1::CheckState& b = r.report.checks(2);
  EXPECT_EQ(b.type(), "systemd");
  EXPECT_EQ(b.status(), v1::CheckState::DOWN);
  EXPECT_EQ(b.reason(), "unit failed: result exit-code, status 2");
  EXPECT_EQ(b.origin(), "collector");

  EXPECT_THAT(Metric(r.metrics, "app_check_up", "port"), Optional(1.0));
  EXPECT_THAT(Metric(r.metrics, "app_check_up", "unit-a"), Optional(1.0));
  EXPECT_THAT(Metric(r.metrics, "app_check_up", "unit-b"), Optional(0.0));
  EXPECT_TRUE(Metric(r.metrics, "app_check_latency_seconds", "port").has_value());
  EXPECT_THAT(Metric(r.metrics, "app_unit_active", "unit-b"), Optional(0.0));
}

TEST(HealthRunner, LocalCheckBeatsPushedOneOfTheSameName) {
  auto units = std::make_shared<FakeUnits>();
  units->output["local.service"] = kActive;
  units->output["pushed.service"] = kFailed;
  HealthRunner runner(EnvFor(units));
  ASSERT_TRUE(runner
                  .SetChecks({Spec("app", "systemd", {{"unit", "local.service"}})},
                             {Spec("app", "systemd", {{"unit", "pushed.service"}}),
                              Spec("other", "systemd", {{"unit", "pushed.service"}})})
                  .ok());
  EXPECT_THAT(
      runner.last_errors(),
      ElementsAre("pushed check 'app' skipped: the agent config defines a check of that name"));
  RunResult r = runner.RunAll(kT0);
  ASSERT_EQ(r.report.checks_size(), 2);
  const v1::CheckState* app = Find(r.report, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->origin(), "config");
  EXPECT_EQ(app->status(), v1::CheckState::OK);
  const v1::CheckState* other = Find(r.report, "other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->origin(), "collector");
}

TEST(HealthRunner, InvalidPushedChecksAreSkippedInvalidConfigIsRefused) {
  auto units = std::make_shared<FakeUnits>();
  units->output["a.service"] = kActive;
  HealthRunner runner(EnvFor(units));
  ASSERT_TRUE(runner
                  .SetChecks({Spec("a", "systemd", {{"unit", "a.service"}})},
                             {Spec("bad", "tcp", {{"address", "nowhere"}}),
                              Spec("dup", "systemd", {{"unit", "a.service"}}),
                              Spec("dup", "systemd", {{"unit", "b.service"}})})
                  .ok());
  EXPECT_THAT(runner.last_errors(),
              ElementsAre(HasSubstr("pushed check skipped: check 'bad': param 'address'"),
                          "pushed check 'dup' skipped: pushed twice; the first one is used"));
  RunResult r = runner.RunAll(kT0);
  ASSERT_EQ(r.report.checks_size(), 2);

  absl::Status s = runner.SetChecks({Spec("web", "http", {{"url", "gopher://x"}})}, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("check 'web': param 'url'"));
  s = runner.SetChecks({Spec("a", "systemd", {{"unit", "a.service"}}),
                        Spec("a", "systemd", {{"unit", "b.service"}})},
                       {});
  EXPECT_EQ(s.message(), "check 'a' is defined twice");
  // Nothing changed.
  EXPECT_EQ(runner.RunAll(kT0).report.checks_size(), 2);
}

TEST(HealthRunner, SinceIsTheTimeOfTheLastStatusChange) {
  auto units = std::make_shared<FakeUnits>();
  units->output["a.service"] = kActive;
  HealthRunner runner(EnvFor(units));
  ASSERT_TRUE(runner.SetChecks({Spec("a", "systemd", {{"unit", "a.service"}})}, {}).ok());
  auto run = [&](absl::Duration at) { return runner.RunAll(kT0 + at).report.checks(0); };
  const int64_t t0 = absl::ToUnixMillis(kT0);

  v1::CheckState s = run(absl::ZeroDuration());
  EXPECT_EQ(s.status(), v1::CheckState::OK);
  EXPECT_EQ(s.since_ms(), t0);
  s = run(absl::Seconds(60));
  EXPECT_EQ(s.since_ms(), t0);
  EXPECT_EQ(s.time_ms(), t0 + 60'000);

  units->output["a.service"] = kFailed;
  s = run(absl::Seconds(120));
  EXPECT_EQ(s.status(), v1::CheckState::DOWN);
  EXPECT_EQ(s.since_ms(), t0 + 120'000);
  s = run(absl::Seconds(180));
  EXPECT_EQ(s.since_ms(), t0 + 120'000);

  // Setting the same checks again (a settings push) keeps the state.
  ASSERT_TRUE(runner.SetChecks({Spec("a", "systemd", {{"unit", "a.service"}})}, {}).ok());
  s = run(absl::Seconds(240));
  EXPECT_EQ(s.since_ms(), t0 + 120'000);

  units->output["a.service"] = kActive;
  s = run(absl::Seconds(300));
  EXPECT_EQ(s.status(), v1::CheckState::OK);
  EXPECT_EQ(s.since_ms(), t0 + 300'000);

  // A changed spec is a new check.
  ASSERT_TRUE(
      runner
          .SetChecks({Spec("a", "systemd", {{"unit", "a.service"}, {"restart_window", "5m"}})}, {})
          .ok());
  s = run(absl::Seconds(360));
  EXPECT_EQ(s.since_ms(), t0 + 360'000);
}

TEST(HealthRunner, RemovedChecksLeaveTheReport) {
  auto units = std::make_shared<FakeUnits>();
  units->output["a.service"] = kActive;
  HealthRunner runner(EnvFor(units));
  ASSERT_TRUE(runner
                  .SetChecks({Spec("a", "systemd", {{"unit", "a.service"}})},
                             {Spec("b", "systemd", {{"unit", "a.service"}})})
                  .ok());
  EXPECT_EQ(runner.RunAll(kT0).report.checks_size(), 2);
  ASSERT_TRUE(runner.SetChecks({Spec("a", "systemd", {{"unit", "a.service"}})}, {}).ok());
  RunResult r = runner.RunAll(kT0);
  ASSERT_EQ(r.report.checks_size(), 1);
  EXPECT_EQ(r.report.checks(0).name(), "a");
  EXPECT_FALSE(Metric(r.metrics, "app_check_up", "b").has_value());
  ASSERT_TRUE(runner.SetChecks({}, {}).ok());
  EXPECT_EQ(runner.RunAll(kT0).report.checks_size(), 0);
}

}  // namespace
}  // namespace steward::agent
