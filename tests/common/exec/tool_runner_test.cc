#include "common/exec/tool_runner.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using ::testing::HasSubstr;

TEST(ToolRunner, CapturesBoundsAndRefuses) {
  auto out = RunTool({"/bin/echo", "hello"}, absl::Seconds(10));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "hello\n");
  EXPECT_FALSE(RunTool({"echo", "relative"}, absl::Seconds(1)).ok());
  EXPECT_EQ(RunTool({"/nonexistent/tool"}, absl::Seconds(1)).status().code(),
            absl::StatusCode::kNotFound);
  auto big = RunTool({"/bin/sh", "-c", "yes | head -c 100000"}, absl::Seconds(10), 1000);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  auto sig = RunTool({"/bin/sh", "-c", "kill -9 $$"}, absl::Seconds(10));
  EXPECT_THAT(sig.status().message(), HasSubstr("killed by signal 9"));
}

TEST(ToolRunner, RunsWithTheFixedPathAndCLocale) {
  auto out = RunTool({"/bin/sh", "-c", "echo \"$PATH $LC_ALL\""}, absl::Seconds(10));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, std::string(kToolPath) + " C\n");
}

TEST(ToolRunner, KillsAToolThatRunsTooLong) {
  absl::Time start = absl::Now();
  auto out = RunTool({"/bin/sleep", "30"}, absl::Milliseconds(200));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded) << out.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(RunCommand, ReportsExitCodeAndBothStreamsKeepingTheTail) {
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "out\nerr\n");
  auto big = RunCommand({"/bin/sh", "-c", "seq 1 100000"}, absl::Seconds(10), 20);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->exit_code, 0);
  EXPECT_EQ(big->output.size(), 20u);
  EXPECT_EQ(big->output.substr(big->output.size() - 7), "100000\n");
  auto sig = RunCommand({"/bin/sh", "-c", "kill -9 $$"}, absl::Seconds(10));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->exit_code, 128 + 9);
  EXPECT_EQ(RunCommand({"/bin/sleep", "30"}, absl::Milliseconds(200)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(RunCommand({"/nonexistent"}, absl::Seconds(1)).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace steward
