// libFuzzer target: Python METADATA / PKG-INFO and RECORD parsers.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/inventory/pip_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  steward::agent::ParseReport report;
  auto m = steward::agent::ParsePythonMetadata(text, "METADATA", &report);
  if (m.has_value()) {
    if (m->name.empty() || m->version.empty()) __builtin_trap();
    (void)steward::agent::NormalizePythonName(m->name);
  }
  (void)steward::agent::SumRecordSizes(text, "RECORD", &report);
  if (report.warnings.size() > steward::agent::ParseReport::kMaxWarnings) __builtin_trap();
  return 0;
}
