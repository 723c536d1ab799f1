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

}  // namespace
}  // namespace steward
