// Feeds arbitrary file names to the systemd-coredump name parser: no crash,
// a reason for every refusal, and an accepted name describes a real dump
// (positive pid and time, 32-hex boot id, a name no longer than its input).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/health/coredumps.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::agent;  // NOLINT(build/namespaces): fuzz harness only.
  absl::string_view name(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto r = ParseCoredumpFileName(name, &why);
  if (!r.has_value()) {
    if (why.empty()) std::abort();
    return 0;
  }
  if (r->pid <= 0 || r->boot_id.size() != 32 || r->comm.empty() || r->comm.size() > size) {
    std::abort();
  }
  if (r->time <= absl::UnixEpoch()) std::abort();
  if (CommOf(r->comm).size() > kMaxCommBytes) std::abort();
  return 0;
}
