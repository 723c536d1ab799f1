#include "agent/exec/systemctl.h"

#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::HasSubstr;

TEST(Systemctl, Pid1TestReadsComm) {
  testing::TempDir dir;
  dir.Write("systemd/1/comm", "systemd\n");
  dir.Write("init/1/comm", "tini\n");
  EXPECT_TRUE(SystemdIsPid1(dir.path() + "/systemd"));
  EXPECT_FALSE(SystemdIsPid1(dir.path() + "/init"));
  EXPECT_FALSE(SystemdIsPid1(dir.path() + "/missing"));
}

TEST(Systemctl, RefusesWithoutSystemdUnlessAProgramIsConfigured) {
  testing::TempDir dir;
  dir.Write("proc/1/comm", "bash\n");
  SystemctlOptions options;
  options.proc_root = dir.path() + "/proc";
  auto out = RunSystemctl({"list-units"}, options);
  EXPECT_TRUE(absl::IsFailedPrecondition(out.status())) << out.status();
  EXPECT_EQ(out.status().message(), "systemd is not running");

  // A configured program runs whatever PID 1 is, with the arguments given.
  std::string script = dir.Write("fake-systemctl", "#!/bin/sh\necho \"args: $*\"\n");
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  options.program = script;
  out = RunSystemctl({"list-units", "--plain"}, options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "args: list-units --plain\n");
}

TEST(Systemctl, ReportsAFailingProgram) {
  testing::TempDir dir;
  std::string script =
      dir.Write("fake-systemctl", "#!/bin/sh\necho 'System has not been booted with systemd' >&2\nexit 1\n");
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  SystemctlOptions options;
  options.program = script;
  auto out = RunSystemctl({"list-units"}, options);
  EXPECT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("exited with status 1"));
}

TEST(Systemctl, FindToolLooksInTheToolPathOnly) {
  EXPECT_EQ(FindTool("sh").substr(0, 1), "/");
  EXPECT_EQ(FindTool("steward-no-such-tool"), "");
}

}  // namespace
}  // namespace steward::agent
