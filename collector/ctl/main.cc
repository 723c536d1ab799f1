// stewardctl: the ops CLI. All logic is in commands.cc (RunStewardctl).
#include <cstdlib>
#include <iostream>

#include "collector/ctl/commands.h"

int main(int argc, char** argv) {
  const char* env = std::getenv("STEWARD_CONFIG");
  return steward::ctl::RunStewardctl(std::vector<std::string>(argv + 1, argv + argc), env ? env : "", std::cout,
                                     std::cerr);
}
