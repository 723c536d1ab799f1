// stewardctl install's inventory parser (collector/ctl/install_inventory.h)
// from fuzzed bytes. No crash; an error names an inventory line or the
// whole file; every machine accepted has a host that ssh cannot take for
// an option, a port in range, and arguments that end with the host.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collector/ctl/install_inventory.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::ctl;
  auto targets = ParseInventory(std::string(reinterpret_cast<const char*>(data), size));
  if (!targets.ok()) {
    const std::string m(targets.status().message());
    Check(m.rfind("inventory line ", 0) == 0 || m.find("inventory") != std::string::npos);
    return 0;
  }
  Check(!targets->empty());
  for (const InstallTarget& t : *targets) {
    Check(!t.host.empty() && t.host[0] != '-');
    Check(t.user.empty() || t.user[0] != '-');
    Check(t.port >= 0 && t.port <= 65535);
    auto args = SshTargetArgs(t);
    Check(!args.empty() && args.back() == t.host);
  }
  return 0;
}
