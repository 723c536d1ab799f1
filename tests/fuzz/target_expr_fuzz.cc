// A target expression (common/targeting/target_expr.h) from fuzzed
// bytes: no crash, no unbounded recursion; what parses prints a canonical
// form that parses again to the same form and the same answers on a host.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/targeting/target_expr.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using steward::TargetExpr;
  using steward::TargetHost;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto e = TargetExpr::Parse(text);
  if (!e.ok()) {
    Check(std::string(e.status().message()).rfind("target expression", 0) == 0);
    return 0;
  }
  const std::string canonical = e->ToString();
  auto again = TargetExpr::Parse(canonical);
  Check(again.ok());
  Check(again->ToString() == canonical);
  TargetHost host;
  host.agent_id = "a";
  host.hostname = "h";
  host.os_id = "debian";
  host.labels = {{"k", "v"}};
  host.packages = {{"p", {"dpkg", "1.0-1"}}, {"p", {"rpm", "1:2.0-3"}}, {"q", {"pip", "2.31.0"}}};
  Check(e->Matches(host) == again->Matches(host));
  return 0;
}
