// Feeds arbitrary bytes to every procfs parser (the same input to each):
// no crash, no hang, every warning names the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/metrics/procfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::agent;  // NOLINT(build/namespaces): fuzz harness only.
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  ParseReport report;
  ProcStat st = ParseProcStat(text, "fuzz", &report);
  if (st.total.has_value() && st.total->cpu != "cpu") std::abort();
  ParseMeminfo(text, "fuzz", &report);
  ParseLoadavg(text, "fuzz", &report);
  ParseUptime(text, "fuzz", &report);
  ParseNetDev(text, "fuzz", &report);
  ParseDiskstats(text, "fuzz", &report);
  for (const MountEntry& m : ParseMounts(text, "fuzz", &report)) {
    if (m.fstype.empty()) std::abort();
  }
  std::string decoded = DecodeMountEscapes(text);
  if (decoded.size() > text.size()) std::abort();
  for (const std::string& w : report.warnings) {
    if (!absl::StartsWith(w, "fuzz")) std::abort();
  }
  return 0;
}
