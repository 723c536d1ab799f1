#include "agent/health/systemd_check.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/health/coredumps.h"
#include "agent/health/systemctl_show.h"
#include "common/duration.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/health/check_test_util.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Metric;
using ::testing::Optional;
using testing::Spec;

// Captured from `systemctl show nginx.service -p LoadState,ActiveState,...`
// on Debian 12 (systemd prints the properties in its own order).
constexpr char kActiveRunning[] =
    "NRestarts=0\nExecMainCode=0\nExecMainStatus=0\nResult=success\nLoadState=loaded\n"
    "ActiveState=active\nSubState=running\nActiveEnterTimestampMonotonic=8431256\n";
constexpr char kFailedExitCode[] =
    "NRestarts=0\nExecMainCode=1\nExecMainStatus=1\nResult=exit-code\nLoadState=loaded\n"
    "ActiveState=failed\nSubState=failed\nActiveEnterTimestampMonotonic=0\n";
constexpr char kFailedSignal[] =
    "NRestarts=0\nExecMainCode=2\nExecMainStatus=9\nResult=signal\nLoadState=loaded\n"
    "ActiveState=failed\nSubState=failed\nActiveEnterTimestampMonotonic=0\n";
constexpr char kInactiveDead[] =
    "NRestarts=0\nExecMainCode=0\nExecMainStatus=0\nResult=success\nLoadState=loaded\n"
    "ActiveState=inactive\nSubState=dead\nActiveEnterTimestampMonotonic=0\n";
constexpr char kNotFound[] =
    "NRestarts=0\nExecMainCode=0\nExecMainStatus=0\nResult=success\nLoadState=not-found\n"
    "ActiveState=inactive\nSubState=dead\nActiveEnterTimestampMonotonic=0\n";

std::string AutoRestart(int n_restarts) {
  return absl::StrCat("NRestarts=", n_restarts,
                      "\nExecMainCode=1\nExecMainStatus=3\nResult=exit-code\nLoadState=loaded\n"
                      "ActiveState=activating\nSubState=auto-restart\n"
                      "ActiveEnterTimestampMonotonic=0\n");
}

std::string ActiveAfterRestarts(int n_restarts) {
  return absl::StrCat("NRestarts=", n_restarts,
                      "\nExecMainCode=0\nExecMainStatus=0\nResult=success\nLoadState=loaded\n"
                      "ActiveState=active\nSubState=running\nActiveEnterTimestampMonotonic=99\n");
}

// A CheckEnv whose systemctl answers with `outputs` in turn (the last one
// repeats), recording the units asked for.
struct ScriptedSystemctl {
  std::vector<std::string> outputs;
  size_t next = 0;
  std::vector<std::string> units;
};

CheckEnv ScriptedEnv(std::shared_ptr<ScriptedSystemctl> script,
                     std::shared_ptr<CoredumpStore> coredumps = nullptr) {
  CheckEnv env;
  env.coredumps = std::move(coredumps);
  env.systemctl_show = [script](const std::string& unit) -> absl::StatusOr<std::string> {
    script->units.push_back(unit);
    size_t i = std::min(script->next++, script->outputs.size() - 1);
    return script->outputs[i];
  };
  return env;
}

std::unique_ptr<Check> MakeScripted(std::shared_ptr<ScriptedSystemctl> script,
                                    const std::string& window = "") {
  v1::CheckSpec spec = Spec("nginx", "systemd", {{"unit", "nginx.service"}});
  if (!window.empty()) (*spec.mutable_params())["restart_window"] = window;
  auto check = MakeCheck(spec, ScriptedEnv(std::move(script)));
  EXPECT_TRUE(check.ok()) << check.status();
  return std::move(*check);
}

CheckOutcome RunWith(const std::string& output) {
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {output};
  return MakeScripted(script)->Run(absl::Now());
}

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(ParseSystemctlShow, ReadsTheProperties) {
  ParseReport report;
  SystemdUnitState st = ParseSystemctlShow(kFailedExitCode, "systemctl show x", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(st.load_state, "loaded");
  EXPECT_EQ(st.active_state, "failed");
  EXPECT_EQ(st.sub_state, "failed");
  EXPECT_EQ(st.result, "exit-code");
  EXPECT_THAT(st.n_restarts, Optional(0u));
  EXPECT_THAT(st.exec_main_code, Optional(1));
  EXPECT_THAT(st.exec_main_status, Optional(1));
  EXPECT_THAT(st.active_enter_monotonic_us, Optional(0u));
}

TEST(ParseSystemctlShow, WarnsAboutBrokenLines) {
  ParseReport report;
  SystemdUnitState st = ParseSystemctlShow(
      "ActiveState=active\nthis is not a property\n=orphan\nNRestarts=many\r\n"
      "ExecMainStatus=[not set]\nSomethingElse=1\nSubState=running\r\n",
      "systemctl show web.service", &report);
  EXPECT_EQ(st.active_state, "active");
  EXPECT_EQ(st.sub_state, "running");
  EXPECT_FALSE(st.n_restarts.has_value());
  EXPECT_FALSE(st.exec_main_status.has_value());
  EXPECT_THAT(report.warnings,
              ElementsAre("systemctl show web.service line 2: expected Property=value, found "
                          "'this is not a property'",
                          "systemctl show web.service line 3: expected Property=value, found "
                          "'=orphan'",
                          "systemctl show web.service line 4: NRestarts: not a number: 'many'"));
}

TEST(SystemdCheck, ActiveRunningIsOk) {
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {kActiveRunning};
  CheckOutcome out = MakeScripted(script)->Run(kT0);
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_EQ(out.reason, "");
  EXPECT_THAT(script->units, ElementsAre("nginx.service"));
  EXPECT_THAT(Metric(out.metrics, "app_unit_active", "nginx"), Optional(1.0));
  EXPECT_THAT(Metric(out.metrics, "app_unit_restarts_total", "nginx"), Optional(0.0));
  for (const MetricSample& s : out.metrics) {
    EXPECT_EQ(s.counter, s.name == "app_unit_restarts_total" || s.name == "app_coredumps_total")
        << s.name;
  }
}

TEST(SystemdCheck, FailedWithExitCodeIsDown) {
  CheckOutcome out = RunWith(kFailedExitCode);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "unit failed: result exit-code, status 1");
  EXPECT_THAT(Metric(out.metrics, "app_unit_active", "nginx"), Optional(0.0));
}

TEST(SystemdCheck, FailedBySignalIsDown) {
  CheckOutcome out = RunWith(kFailedSignal);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "unit failed: result signal, signal 9");
}

TEST(SystemdCheck, InactiveIsDown) {
  CheckOutcome out = RunWith(kInactiveDead);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "unit inactive: result success");
}

TEST(SystemdCheck, UnknownUnitIsDown) {
  CheckOutcome out = RunWith(kNotFound);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "unit nginx.service not found");
}

TEST(SystemdCheck, RestartLoopIsDegraded) {
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {AutoRestart(1), AutoRestart(2), AutoRestart(4), ActiveAfterRestarts(4)};
  auto check = MakeScripted(script);

  CheckOutcome out = check->Run(kT0);
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "unit activating/auto-restart");
  EXPECT_THAT(Metric(out.metrics, "app_unit_restarts_total", "nginx"), Optional(1.0));
  EXPECT_THAT(Metric(out.metrics, "app_unit_active", "nginx"), Optional(0.0));

  out = check->Run(kT0 + absl::Seconds(30));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "restarted 1 time in the last 10m (activating/auto-restart)");

  out = check->Run(kT0 + absl::Seconds(60));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "restarted 3 times in the last 10m (activating/auto-restart)");
  EXPECT_THAT(Metric(out.metrics, "app_unit_restarts_total", "nginx"), Optional(4.0));

  // Up again, but it restarted within the window: still degraded.
  out = check->Run(kT0 + absl::Seconds(90));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "restarted 3 times in the last 10m (active/running)");
  EXPECT_THAT(Metric(out.metrics, "app_unit_active", "nginx"), Optional(1.0));

  // Once the restarts are older than the window it is OK again.
  out = check->Run(kT0 + absl::Minutes(11));
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_EQ(out.reason, "");
}

TEST(SystemdCheck, RestartWindowIsConfigurable) {
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {ActiveAfterRestarts(5), ActiveAfterRestarts(6), ActiveAfterRestarts(6)};
  auto check = MakeScripted(script, "1m");
  EXPECT_EQ(check->Run(kT0).status, v1::CheckState::OK);
  CheckOutcome out = check->Run(kT0 + absl::Seconds(30));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "restarted 1 time in the last 1m (active/running)");
  EXPECT_EQ(check->Run(kT0 + absl::Seconds(100)).status, v1::CheckState::OK);
}

TEST(SystemdCheck, CounterResetIsNotARestart) {
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {ActiveAfterRestarts(7), ActiveAfterRestarts(0)};
  auto check = MakeScripted(script);
  EXPECT_EQ(check->Run(kT0).status, v1::CheckState::OK);
  EXPECT_EQ(check->Run(kT0 + absl::Seconds(30)).status, v1::CheckState::OK);
}

// systemd-coredump's file for a dump of `comm` at `t`.
void WriteDump(const std::string& dir, const std::string& comm, int pid, absl::Time t) {
  ASSERT_TRUE(WriteFileAtomic(absl::StrCat(dir, "/core.", comm, ".0.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c.",
                                           pid, ".", absl::ToUnixMicros(t), ".zst"),
                              "core")
                  .ok());
}

TEST(SystemdCheck, CoreDumpOfTheUnitsProgramIsDegraded) {
  steward::testing::TempDir dir;
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {ActiveAfterRestarts(0)};
  auto store = std::make_shared<CoredumpStore>(dir.path());
  auto check = MakeCheck(Spec("nginx", "systemd", {{"unit", "nginx.service"}}), ScriptedEnv(script, store));
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ((*check)->Run(kT0).status, v1::CheckState::OK);

  // A worker crashed and was replaced by the master: the unit stays active,
  // NRestarts does not move, only the dump tells.
  WriteDump(dir.path(), "nginx", 4242, kT0 + absl::Seconds(5));
  WriteDump(dir.path(), "other", 4243, kT0 + absl::Seconds(5));
  CheckOutcome out = (*check)->Run(kT0 + absl::Seconds(10));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "'nginx' dumped core 1 time in the last 10m (latest: pid 4242 at " +
                            FormatRfc3339(kT0 + absl::Seconds(5)) + ")");
  EXPECT_THAT(Metric(out.metrics, "app_coredumps_total", "nginx"), Optional(1.0));
  EXPECT_EQ((*check)->Run(kT0 + absl::Minutes(11)).status, v1::CheckState::OK);

  // Failed with a dump: DOWN, and the reason says so.
  script->outputs = {"LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=core-dump\n"
                     "ExecMainCode=3\nExecMainStatus=11\nNRestarts=0\n"};
  script->next = 0;
  WriteDump(dir.path(), "nginx", 4300, kT0 + absl::Minutes(12));
  out = (*check)->Run(kT0 + absl::Minutes(12) + absl::Seconds(1));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("unit failed: result core-dump, signal 11 (core dumped); "
                                    "'nginx' dumped core 1 time"));
  EXPECT_THAT(Metric(out.metrics, "app_coredumps_total", "nginx"), Optional(2.0));
}

TEST(SystemdCheck, CoredumpCommNamesTheProgram) {
  steward::testing::TempDir dir;
  auto script = std::make_shared<ScriptedSystemctl>();
  script->outputs = {ActiveAfterRestarts(0)};
  auto store = std::make_shared<CoredumpStore>(dir.path());
  // ssh.service runs sshd: without the param, sshd's dumps would not count.
  auto plain = MakeCheck(Spec("ssh", "systemd", {{"unit", "ssh.service"}}), ScriptedEnv(script, store));
  auto named = MakeCheck(Spec("ssh", "systemd", {{"unit", "ssh.service"}, {"coredump_comm", "sshd"}}),
                         ScriptedEnv(script, store));
  ASSERT_TRUE(plain.ok() && named.ok());
  WriteDump(dir.path(), "sshd", 77, kT0);
  EXPECT_EQ((*plain)->Run(kT0 + absl::Seconds(1)).status, v1::CheckState::OK);
  EXPECT_EQ((*named)->Run(kT0 + absl::Seconds(1)).status, v1::CheckState::DEGRADED);
  EXPECT_FALSE(MakeCheck(Spec("ssh", "systemd", {{"unit", "ssh.service"}, {"coredump_comm", "a/b"}}),
                         CheckEnv())
                   .ok());
}

TEST(SystemdCheck, GarbageOutputIsDownNotACrash) {
  CheckOutcome out = RunWith("\x01\x02garbage\n\n=\n==\nActiveState\n");
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "systemctl show gave no ActiveState");
  EXPECT_THAT(Metric(out.metrics, "app_unit_active", "nginx"), Optional(0.0));
  EXPECT_FALSE(Metric(out.metrics, "app_unit_restarts_total", "nginx").has_value());

  out = RunWith("ActiveState=exploding\n");
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "unit in unknown state 'exploding'");
}

TEST(SystemdCheck, SystemdNotRunningIsDown) {
  CheckEnv env;
  env.systemctl_show = [](const std::string&) -> absl::StatusOr<std::string> {
    return absl::FailedPreconditionError("systemd is not running");
  };
  auto check = MakeCheck(Spec("nginx", "systemd", {{"unit", "nginx.service"}}), env);
  ASSERT_TRUE(check.ok());
  CheckOutcome out = (*check)->Run(kT0);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "systemd is not running on this host");
  EXPECT_TRUE(out.metrics.empty());
}

TEST(SystemdCheck, SystemctlErrorIsDown) {
  CheckEnv env;
  env.systemctl_show = [](const std::string& unit) -> absl::StatusOr<std::string> {
    return absl::UnavailableError(absl::StrCat("systemctl show ", unit, ": no answer within 5s"));
  };
  auto check = MakeCheck(Spec("nginx", "systemd", {{"unit", "nginx.service"}}), env);
  ASSERT_TRUE(check.ok());
  CheckOutcome out = (*check)->Run(kT0);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "systemctl show nginx.service: no answer within 5s");
}

TEST(SystemdCheck, DefaultEnvOnAHostWithoutSystemd) {
  auto comm = ReadFile("/proc/1/comm");
  if (comm.ok() && *comm == "systemd\n") GTEST_SKIP() << "systemd is PID 1 here";
  EXPECT_TRUE(absl::IsFailedPrecondition(RunSystemctlShow("nginx.service").status()));
  auto check = MakeCheck(Spec("nginx", "systemd", {{"unit", "nginx.service"}}), CheckEnv());
  ASSERT_TRUE(check.ok());
  CheckOutcome out = (*check)->Run(kT0);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "systemd is not running on this host");
}

}  // namespace
}  // namespace steward::agent
