// Feeds arbitrary bytes to the os-release parser: no crash, only valid keys
// kept, the named members consistent with the field map.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "agent/facts/os_release.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  steward::agent::ParseReport report;
  steward::agent::OsRelease os = steward::agent::ParseOsRelease(text, "fuzz", &report);
  for (const auto& [key, value] : os.fields) {
    if (key.empty() || absl::ascii_isdigit(key[0])) std::abort();
    for (char c : key) {
      if (!absl::ascii_isalnum(c) && c != '_') std::abort();
    }
  }
  auto it = os.fields.find("ID");
  if ((it == os.fields.end() ? std::string() : it->second) != os.id) std::abort();
  for (const std::string& w : report.warnings) {
    if (!absl::StartsWith(w, "fuzz line ")) std::abort();
  }
  return 0;
}
