// Feeds arbitrary bytes to the `systemctl show` parser: no crash, no hang,
// every warning names the origin, properties never hold a line break.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/health/systemctl_show.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::agent;  // NOLINT(build/namespaces): fuzz harness only.
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  ParseReport report;
  SystemdUnitState st = ParseSystemctlShow(text, "fuzz", &report);
  for (const std::string* s : {&st.load_state, &st.active_state, &st.sub_state, &st.result}) {
    if (s->find('\n') != std::string::npos || s->size() > size) std::abort();
  }
  for (const std::string& w : report.warnings) {
    if (!absl::StartsWith(w, "fuzz line ")) std::abort();
  }
  if (report.warnings.size() > ParseReport::kMaxWarnings) std::abort();
  return 0;
}
