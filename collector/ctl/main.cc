// stewardctl: the ops CLI. All logic is in commands.cc (RunStewardctl).
#include <cstdlib>
#include <iostream>

#include "collector/ctl/commands.h"
#include "common/grpc/grpc_logging.h"

int main(int argc, char** argv) {
  steward::RouteGrpcLogsToSpdlog(spdlog::level::debug);  // the command reports failures in its own words
  const char* env = std::getenv("STEWARD_CONFIG");
  return steward::ctl::RunStewardctl(std::vector<std::string>(argv + 1, argv + argc), env ? env : "", std::cout,
                                     std::cerr);
}
