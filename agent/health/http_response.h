#pragma once
// The head of an HTTP/1.x response (status line and header fields), for the
// http check. Pure functions over bytes received from the network: bounded,
// never crash on any input.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::agent {

// A parsed response head. Plain value type.
struct HttpResponseHead {
  int major = 1;
  int minor = 1;
  int status = 0;      // 100..999 as sent (three digits).
  std::string reason;  // Reason phrase, may be empty.
  // Header fields in order; names as sent, values without surrounding blanks.
  std::vector<std::pair<std::string, std::string>> headers;

  friend bool operator==(const HttpResponseHead&, const HttpResponseHead&) = default;
};

// Most header fields ParseHttpResponseHead accepts.
inline constexpr size_t kMaxHttpHeaderFields = 200;

// Offset just past the blank line ending the head ("\r\n\r\n", or "\n\n"
// from sloppy servers) in `data`, or absl::string_view::npos when `data`
// does not hold a whole head yet.
size_t FindHttpHeadEnd(absl::string_view data);

// Parses `head`: "HTTP/1.1 200 OK" then "Name: value" lines, CRLF or LF,
// optionally followed by the blank line (everything after it is ignored).
// InvalidArgument naming the problem and quoting the offending line:
// "malformed status line 'garbage'", "header line 3: ...".
absl::StatusOr<HttpResponseHead> ParseHttpResponseHead(absl::string_view head);

}  // namespace steward::agent
