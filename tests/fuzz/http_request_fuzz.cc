// The collector's HTTPS request parser (collector/http/http_request.h) from
// fuzzed bytes, as anyone reaching the install port may send them. No
// crash; a refusal has an HTTP status and the same message as the status;
// an accepted request has an origin-form path without dot segments, and
// lower-case header names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "collector/http/http_request.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::collector::http;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t head = HeadLength(input);
  Check(head == 0 || (head >= 4 && head <= input.size()));
  HttpError error;
  auto r = ParseHttpRequest(head == 0 ? input : input.substr(0, head), &error);
  if (!r.ok()) {
    Check(error.status >= 400 && error.status < 600);
    Check(std::string(r.status().message()) == error.message);
    return 0;
  }
  Check(!r->path.empty() && r->path[0] == '/');
  for (absl::string_view seg : absl::StrSplit(r->path, '/')) Check(seg != "." && seg != "..");
  Check(r->headers.size() <= kMaxHeaders);
  for (const auto& [name, value] : r->headers) Check(name == absl::AsciiStrToLower(name) && !name.empty());
  return 0;
}
