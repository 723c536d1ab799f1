// Feeds arbitrary bytes to the HTTP response head parser the http check
// uses: no crash, no hang, and what it accepts is consistent (a three-digit
// status, a bounded header count, names without ':' or line breaks).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "agent/health/http_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::agent;  // NOLINT(build/namespaces): fuzz harness only.
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  size_t end = FindHttpHeadEnd(text);
  if (end != absl::string_view::npos && (end > size || end < 2)) std::abort();
  auto head = ParseHttpResponseHead(text);
  if (!head.ok()) return 0;
  if (head->status < 100 || head->status > 999) std::abort();
  if (head->headers.size() > kMaxHttpHeaderFields) std::abort();
  for (const auto& [name, value] : head->headers) {
    if (name.empty() || name.find_first_of(":\r\n ") != std::string::npos) std::abort();
    if (value.find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
