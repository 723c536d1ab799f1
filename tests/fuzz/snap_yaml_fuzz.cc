// libFuzzer target: snap.yaml and AppStream metainfo readers (snap and
// flatpak sources).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "agent/inventory/flatpak_source.h"
#include "agent/inventory/snap_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  steward::agent::ParseReport report;
  auto y = steward::agent::ParseSnapYaml(text, "snap.yaml", &report);
  if (y.has_value() && (y->name.empty() || y->version.empty())) __builtin_trap();
  auto v = steward::agent::ParseMetainfoReleaseVersion(text);
  if (v.has_value() && v->empty()) __builtin_trap();
  return 0;
}
