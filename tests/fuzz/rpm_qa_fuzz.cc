// libFuzzer target: the `rpm -qa --qf` output parser.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/inventory/rpm_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  steward::agent::ParseReport report;
  for (const auto& p : steward::agent::ParseRpmQueryOutput(text, "rpm -qa", &report)) {
    if (p.name.empty() || p.version.empty()) __builtin_trap();
  }
  return 0;
}
