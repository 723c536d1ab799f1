// libFuzzer target: the package.json reader.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/inventory/package_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  steward::agent::ParseReport report;
  (void)steward::agent::ParsePackageJson(text, "package.json", &report);
  return 0;
}
