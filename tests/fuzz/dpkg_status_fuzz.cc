// Feeds arbitrary bytes to the dpkg status parser and checks the contract:
// no crash, every returned package is installed and named and versioned,
// and the warning list stays bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/inventory/dpkg_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  steward::agent::ParseReport report;
  for (const steward::agent::Package& p : steward::agent::ParseDpkgStatus(text, "fuzz", &report)) {
    if (p.name.empty() || p.version.empty() || p.source != "dpkg" ||
        !absl::EndsWith(p.status, "installed")) {
      std::abort();
    }
  }
  if (report.warnings.size() > steward::agent::ParseReport::kMaxWarnings) std::abort();
  for (const std::string& w : report.warnings) {
    if (!absl::StartsWith(w, "fuzz line ")) std::abort();
  }
  return 0;
}
