// Feeds arbitrary bytes to the `systemctl list-units` and `list-unit-files`
// parsers: no crash, no hang, and every unit kept meets the invariants
// documented in agent/services/unit_list.h (what the collector's envelope
// validation and proto3's UTF-8 rule rely on).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/services/unit_list.h"
#include "common/utf8.h"

namespace {

bool StateWord(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool Printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return steward::IsValidUtf8(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::agent;  // NOLINT(build/namespaces): fuzz harness only.
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  ParseReport report;
  auto units = ParseListUnits(text, "fuzz", &report);
  for (size_t i = 0; i < units.size(); ++i) {
    const SystemdUnit& u = units[i];
    if (u.name.empty() || u.name.size() > kMaxUnitNameBytes || u.name.find('.') == std::string::npos) std::abort();
    if (!Printable(u.name) || u.name.find(' ') != std::string::npos) std::abort();
    if (!StateWord(u.load_state) || !StateWord(u.active_state) || !StateWord(u.sub_state)) std::abort();
    if (u.description.size() > kMaxDescriptionBytes || !Printable(u.description)) std::abort();
    if (i > 0 && !(units[i - 1].name < u.name)) std::abort();
  }
  auto files = ParseListUnitFiles(text, "fuzz", &report);
  for (const auto& [name, state] : files) {
    if (name.empty() || !Printable(name) || !StateWord(state)) std::abort();
  }
  for (const std::string& w : report.warnings) {
    if (!absl::StartsWith(w, "fuzz")) std::abort();
  }
  if (report.warnings.size() > ParseReport::kMaxWarnings) std::abort();
  return 0;
}
