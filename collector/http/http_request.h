#pragma once
// HTTP/1.1 requests as the collector's HTTPS listener takes them: a request
// line and headers, no body (the endpoints are GET and HEAD only). What
// anyone on the network may send, so the parser is strict and bounded: a
// head larger than kMaxHeadBytes, more than kMaxHeaders headers, a bare LF
// or obs-fold, a header name with a space, a body, or a target that is not
// an origin-form path is refused with the HTTP status to answer and a
// message saying what was wrong.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::collector::http {

inline constexpr size_t kMaxHeadBytes = 8192;
inline constexpr size_t kMaxHeaders = 64;

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  // The target's path, percent-decoded ("/install/packages/amd64"), and
  // its query (after '?', not decoded; "" when none).
  std::string path;
  std::string query;
  int minor_version = 1;  // HTTP/1.<minor>
  // Header names lower-cased, values with surrounding blanks trimmed, in
  // the order sent.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `lower_name`, or "" when absent.
  absl::string_view Header(absl::string_view lower_name) const;
};

// An HTTP error to answer with: status code and a one-line reason.
struct HttpError {
  int status = 400;
  std::string message;
};

// Where the head ends: the offset just past "\r\n\r\n" in `data`, or 0
// when it has not arrived yet.
size_t HeadLength(absl::string_view data);

// Parses a complete head (up to and including the blank line). On error
// returns the status to answer (400, 413 for a body, 414 for an overlong
// target, 431 for too many or too large headers, 505 for another HTTP
// version) in *error and an InvalidArgument status with the same message.
absl::StatusOr<HttpRequest> ParseHttpRequest(absl::string_view head, HttpError* error);

// Decodes %XX escapes; INVALID_ARGUMENT for a truncated or non-hex escape
// or an escaped NUL or '/'.
absl::StatusOr<std::string> PercentDecode(absl::string_view text);

// The value of `name` in a query string "a=1&b=2" (not decoded), or
// "" when absent.
std::string QueryValue(absl::string_view query, absl::string_view name);

}  // namespace steward::collector::http
