// gRPC's own log lines go through spdlog at the levels RouteGrpcLogsToSpdlog
// promises, and none reaches stderr.

#include "common/grpc/grpc_logging.h"

#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace steward {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class GrpcLogging : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_);
    sink->set_pattern("%l %v");
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::ostringstream lines_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(GrpcLogging, ErrorsAtTheGivenLevelNothingOnStderr) {
  spdlog::set_level(spdlog::level::info);
  RouteGrpcLogsToSpdlog(spdlog::level::warn);
  ::testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "Handshake failed with fatal error %s", "SSL_ERROR_SSL");
  gpr_log(GPR_INFO, "an info line");
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), IsEmpty());
  EXPECT_THAT(lines_.str(), HasSubstr("warning grpc grpc_logging_test.cc:"));
  EXPECT_THAT(lines_.str(), HasSubstr(": Handshake failed with fatal error SSL_ERROR_SSL\n"));
  EXPECT_THAT(lines_.str(), Not(HasSubstr("an info line")));  // debug, below info
}

TEST_F(GrpcLogging, AQuietCallerHidesErrorsUntilDebug) {
  spdlog::set_level(spdlog::level::info);
  RouteGrpcLogsToSpdlog(spdlog::level::debug);
  ::testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "Got args: {grpc.primary_user_agent=grpc-c++/1.51.1}");
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), IsEmpty());
  EXPECT_THAT(lines_.str(), IsEmpty());

  spdlog::set_level(spdlog::level::trace);
  RouteGrpcLogsToSpdlog(spdlog::level::debug);  // gRPC now formats INFO and DEBUG too
  ::testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "an error");
  gpr_log(GPR_INFO, "an info line");
  gpr_log(GPR_DEBUG, "a debug line");
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), IsEmpty());
  EXPECT_THAT(lines_.str(), HasSubstr("debug grpc grpc_logging_test.cc:"));
  EXPECT_THAT(lines_.str(), HasSubstr(": an error\n"));
  EXPECT_THAT(lines_.str(), HasSubstr(": an info line\n"));
  EXPECT_THAT(lines_.str(), HasSubstr("trace grpc grpc_logging_test.cc:"));
  EXPECT_THAT(lines_.str(), HasSubstr(": a debug line\n"));
  spdlog::set_level(spdlog::level::info);
}

}  // namespace
}  // namespace steward
