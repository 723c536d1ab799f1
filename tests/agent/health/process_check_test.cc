#include "agent/health/process_check.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/health/coredumps.h"
#include "common/duration.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/health/check_test_util.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace steward::agent {
namespace {

using ::testing::HasSubstr;
using testing::Metric;
using ::testing::Optional;
using testing::RunOnce;
using testing::Spec;

// `sleep 30.<unique digits>`: a real child whose command line no other
// process on the host has.
class SleepChild {
 public:
  SleepChild() {
    static int counter = 0;
    arg_ = absl::StrCat("30.", getpid(), ++counter);
    std::string prog = "sleep";
    char* argv[] = {prog.data(), arg_.data(), nullptr};
    EXPECT_EQ(posix_spawnp(&pid_, "sleep", nullptr, nullptr, argv, environ), 0);
    // Wait until the child has exec'd (its cmdline is sleep's).
    for (int i = 0; i < 200; ++i) {
      auto cmdline = ReadFile(absl::StrCat("/proc/", pid_, "/cmdline"));
      if (cmdline.ok() && cmdline->find(arg_) != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  ~SleepChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap();
    }
  }
  // The command line as the check sees it (NULs as spaces).
  std::string cmdline() const { return "sleep " + arg_; }
  pid_t pid() const { return pid_; }

  // SIGKILL without reaping; returns once the child is a zombie.
  void KillToZombie() {
    kill(pid_, SIGKILL);
    for (int i = 0; i < 400; ++i) {
      auto stat = ReadFile(absl::StrCat("/proc/", pid_, "/stat"));
      if (stat.ok() && stat->find(") Z ") != std::string::npos) return;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "child " << pid_ << " did not become a zombie";
  }
  void Reap() {
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string arg_;
  pid_t pid_ = -1;
};

TEST(ProcessCheck, FindsAChildByCmdline) {
  SleepChild child;
  CheckOutcome out = RunOnce(Spec("sleeper", "process", {{"cmdline", child.cmdline()}}));
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_EQ(out.reason, "");
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "sleeper"), Optional(1.0));
  auto rss = Metric(out.metrics, "app_process_rss_bytes", "sleeper");
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0);
  auto cpu = Metric(out.metrics, "app_process_cpu_seconds_total", "sleeper");
  ASSERT_TRUE(cpu.has_value());
  EXPECT_GE(*cpu, 0);
  EXPECT_LT(*cpu, 5);
  for (const MetricSample& s : out.metrics) {
    EXPECT_EQ(s.counter, absl::EndsWith(s.name, "_total")) << s.name;
  }
  EXPECT_THAT(Metric(out.metrics, "app_process_exits_total", "sleeper"), Optional(0.0));
}

// Without systemd, a service that keeps dying and being restarted (a crash
// loop under a supervisor) still shows: its processes come and go.
TEST(ProcessCheck, ExitsWithinTheWindowAreDegradedThenAgeOut) {
  const std::string prefix = absl::StrCat("sleep 30.", getpid());
  auto check = MakeCheck(Spec("svc", "process", {{"cmdline", prefix}, {"restart_window", "10m"}}), CheckEnv());
  ASSERT_TRUE(check.ok()) << check.status();
  absl::Time t0 = absl::Now();
  auto first = std::make_unique<SleepChild>();
  EXPECT_EQ((*check)->Run(t0).status, v1::CheckState::OK);
  first->KillToZombie();
  first->Reap();
  first.reset();
  SleepChild second;  // "restarted by its supervisor"
  CheckOutcome out = (*check)->Run(t0 + absl::Seconds(1));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, "running, but 1 process exited in the last 10m (crash or restart loop?)");
  EXPECT_THAT(Metric(out.metrics, "app_process_exits_total", "svc"), Optional(1.0));
  out = (*check)->Run(t0 + absl::Minutes(11));
  EXPECT_EQ(out.status, v1::CheckState::OK) << out.reason;
  EXPECT_THAT(Metric(out.metrics, "app_process_exits_total", "svc"), Optional(1.0)) << "a counter never goes back";
}

// A core dump (systemd-coredump's file) of the matched program while it
// runs: a crash that a supervisor or a worker pool hid.
TEST(ProcessCheck, CoreDumpOfTheProgramIsDegraded) {
  steward::testing::TempDir dir;
  SleepChild child;
  CheckEnv env;
  env.coredumps = std::make_shared<CoredumpStore>(dir.path());
  auto check = MakeCheck(Spec("sleeper", "process", {{"cmdline", child.cmdline()}}), env);
  ASSERT_TRUE(check.ok()) << check.status();
  const absl::Time t0 = absl::Now();
  CheckOutcome out = (*check)->Run(t0);
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_THAT(Metric(out.metrics, "app_coredumps_total", "sleeper"), Optional(0.0));

  // The cmdline check learnt the matched process's name ("sleep").
  const absl::Time crash = t0 + absl::Seconds(1);
  ASSERT_TRUE(WriteFileAtomic(absl::StrCat(dir.path(), "/core.sleep.1000.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c.",
                                           child.pid() + 1, ".", absl::ToUnixMicros(crash), ".zst"),
                              "core")
                  .ok());
  out = (*check)->Run(t0 + absl::Seconds(2));
  EXPECT_EQ(out.status, v1::CheckState::DEGRADED);
  EXPECT_EQ(out.reason, absl::StrCat("running, but 'sleep' dumped core 1 time in the last 10m "
                                     "(latest: pid ", child.pid() + 1, " at ", FormatRfc3339(crash), ")"));
  EXPECT_THAT(Metric(out.metrics, "app_coredumps_total", "sleeper"), Optional(1.0));
  // Out of the window: OK again; the counter stays.
  out = (*check)->Run(t0 + absl::Minutes(11));
  EXPECT_EQ(out.status, v1::CheckState::OK) << out.reason;
  EXPECT_THAT(Metric(out.metrics, "app_coredumps_total", "sleeper"), Optional(1.0));
}

TEST(ProcessCheck, DownWithARecentDumpSaysSo) {
  steward::testing::TempDir dir;
  CheckEnv env;
  env.coredumps = std::make_shared<CoredumpStore>(dir.path());
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(WriteFileAtomic(absl::StrCat(dir.path(), "/core.no-such-proc.0.0c1f3d0bd0cd4b6a9e7e1e4b4f0a9b2c.31.",
                                           absl::ToUnixMicros(t0 - absl::Seconds(5))),
                              "core")
                  .ok());
  auto check = MakeCheck(Spec("gone", "process", {{"name", "no-such-proc"}}), env);
  ASSERT_TRUE(check.ok());
  CheckOutcome out = (*check)->Run(t0);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr("no process matches name 'no-such-proc'; it dumped core 1 time "
                                    "in the last 10m (latest: pid 31 at "));
}

TEST(ProcessCheck, MinCountAboveTheMatchesIsDown) {
  SleepChild child;
  CheckOutcome out =
      RunOnce(Spec("sleeper", "process", {{"cmdline", child.cmdline()}, {"min_count", "2"}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason,
            absl::StrCat("1 process matches cmdline '", child.cmdline(), "', expected at least 2"));
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "sleeper"), Optional(1.0));
}

TEST(ProcessCheck, FindsAChildByName) {
  SleepChild child;
  CheckOutcome out = RunOnce(Spec("sleeper", "process", {{"name", "sleep"}}));
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_GE(*Metric(out.metrics, "app_process_count", "sleeper"), 1.0);
}

TEST(ProcessCheck, NoMatchingNameIsDown) {
  CheckOutcome out = RunOnce(Spec("nginx", "process", {{"name", "no-such-proc"}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "no process matches name 'no-such-proc'");
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "nginx"), Optional(0.0));
  EXPECT_THAT(Metric(out.metrics, "app_process_rss_bytes", "nginx"), Optional(0.0));
}

TEST(ProcessCheck, MinCountZeroIsOkWithoutProcesses) {
  CheckOutcome out =
      RunOnce(Spec("optional", "process", {{"name", "no-such-proc"}, {"min_count", "0"}}));
  EXPECT_EQ(out.status, v1::CheckState::OK);
}

TEST(ProcessCheck, PidfileThenKilledThenZombie) {
  steward::testing::TempDir dir("health-proc");
  SleepChild child;
  std::string pidfile = dir.Write("app.pid", absl::StrCat(child.pid(), "\n"));
  auto check = MakeCheck(Spec("app", "process", {{"pidfile", pidfile}}), CheckEnv());
  ASSERT_TRUE(check.ok()) << check.status();
  CheckOutcome out = (*check)->Run(absl::Now());
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "app"), Optional(1.0));

  // Killed but not yet reaped: a zombie counts as dead, by pidfile and by
  // cmdline (a zombie has no command line left) alike.
  child.KillToZombie();
  out = (*check)->Run(absl::Now());
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason,
            absl::StrCat("pidfile ", pidfile, ": process ", child.pid(), " is a zombie (exited)"));
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "app"), Optional(0.0));
  CheckOutcome by_cmdline = RunOnce(Spec("app", "process", {{"cmdline", child.cmdline()}}));
  EXPECT_EQ(by_cmdline.status, v1::CheckState::DOWN);

  const pid_t pid = child.pid();
  child.Reap();
  out = (*check)->Run(absl::Now());
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("pidfile ", pidfile, ": process ", pid, " is not running"));
}

TEST(ProcessCheck, KilledChildIsDownByCmdline) {
  std::string cmdline;
  {
    SleepChild child;
    cmdline = child.cmdline();
    EXPECT_EQ(RunOnce(Spec("s", "process", {{"cmdline", cmdline}})).status, v1::CheckState::OK);
  }  // Killed and reaped.
  CheckOutcome out = RunOnce(Spec("s", "process", {{"cmdline", cmdline}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("no process matches cmdline '", cmdline, "'"));
}

TEST(ProcessCheck, MissingOrBrokenPidfileIsDown) {
  steward::testing::TempDir dir("health-proc");
  CheckOutcome out = RunOnce(Spec("app", "process", {{"pidfile", dir.path() + "/none.pid"}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_THAT(out.reason, HasSubstr(dir.path() + "/none.pid"));
  EXPECT_THAT(out.reason, HasSubstr("No such file"));

  std::string junk = dir.Write("junk.pid", "not a pid\n");
  out = RunOnce(Spec("app", "process", {{"pidfile", junk}}));
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, absl::StrCat("pidfile ", junk, ": no process id in it"));
}

// A procfs snapshot with exact numbers: two live "nginx" processes, a
// zombie nginx, another program, and junk entries.
TEST(ProcessCheck, SumsCpuAndRssFromProcfs) {
  steward::testing::TempDir proc("health-procfs");
  // utime and stime are fields 14 and 15; the comm may hold spaces and ')'.
  proc.Write("100/stat",
             "100 (nginx) S 1 100 100 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 10 0 0\n");
  proc.Write("100/comm", "nginx\n");
  proc.Write("100/cmdline", std::string("nginx: master process /usr/sbin/nginx\0", 38));
  proc.Write("100/statm", "2000 300 100 10 0 200 0\n");
  proc.Write("101/stat",
             "101 (nginx) R 100 100 100 0 -1 4194560 100 0 0 0 25 25 0 0 20 0 1 0 10 0 0\n");
  proc.Write("101/comm", "nginx\n");
  proc.Write("101/cmdline", std::string("nginx: worker process\0", 22));
  proc.Write("101/statm", "2000 200 100 10 0 200 0\n");
  proc.Write("102/stat",
             "102 (nginx) Z 100 100 100 0 -1 4194560 100 0 0 0 900 900 0 0 20 0 1 0 10 0 0\n");
  proc.Write("102/comm", "nginx\n");
  proc.Write("103/stat",
             "103 (my (odd) prog) S 1 103 103 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 10 0 0\n");
  proc.Write("103/comm", "my (odd) prog\n");
  proc.Write("103/cmdline", std::string("/opt/odd\0--serve\0", 17));
  proc.Write("104/stat", "garbage\n");
  proc.Write("104/comm", "nginx\n");
  proc.Write("self/stat", "1 (x) S\n");
  proc.Write("sys/kernel", "");

  CheckEnv env;
  env.proc_root = proc.path();
  const double tck = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  CheckOutcome out = RunOnce(Spec("nginx", "process", {{"name", "nginx"}}), env);
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "nginx"), Optional(2.0));
  EXPECT_THAT(Metric(out.metrics, "app_process_cpu_seconds_total", "nginx"),
              Optional((150 + 50 + 25 + 25) / tck));
  EXPECT_THAT(Metric(out.metrics, "app_process_rss_bytes", "nginx"), Optional((300 + 200) * page));

  out = RunOnce(Spec("odd", "process", {{"cmdline", "/opt/odd --serve"}}), env);
  EXPECT_EQ(out.status, v1::CheckState::OK);
  EXPECT_THAT(Metric(out.metrics, "app_process_count", "odd"), Optional(1.0));
  EXPECT_THAT(Metric(out.metrics, "app_process_cpu_seconds_total", "odd"), Optional(2 / tck));
  EXPECT_THAT(Metric(out.metrics, "app_process_rss_bytes", "odd"), Optional(0.0));

  out =
      RunOnce(Spec("workers", "process", {{"cmdline", "worker process"}, {"min_count", "2"}}), env);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "1 process matches cmdline 'worker process', expected at least 2");
}

TEST(ProcessCheck, MissingProcRootIsDown) {
  CheckEnv env;
  env.proc_root = "/nonexistent/proc";
  CheckOutcome out = RunOnce(Spec("x", "process", {{"name", "x"}}), env);
  EXPECT_EQ(out.status, v1::CheckState::DOWN);
  EXPECT_EQ(out.reason, "cannot list /nonexistent/proc: No such file or directory");
}

}  // namespace
}  // namespace steward::agent
