#include "collector/http/http_request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace steward::collector::http {
namespace {

// RFC 9110 token characters (header names, methods).
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Visible ASCII, blanks and obs-text (bytes >= 0x80) are allowed in
// values; control characters are not.
bool IsFieldValue(absl::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == '\t') continue;
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status Fail(HttpError* error, int status, std::string message) {
  if (error != nullptr) *error = HttpError{status, message};
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::string_view HttpRequest::Header(absl::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

size_t HeadLength(absl::string_view data) {
  size_t end = data.find("\r\n\r\n");
  return end == absl::string_view::npos ? 0 : end + 4;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return absl::InvalidArgumentError(absl::StrCat("truncated %-escape at offset ", i));
    }
    int hi = HexValue(text[i + 1]);
    int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError(absl::StrCat("bad %-escape at offset ", i));
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0' || c == '/') {
      return absl::InvalidArgumentError(absl::StrCat("escaped NUL or '/' at offset ", i, " is not allowed"));
    }
    out.push_back(c);
    i += 2;
  }
  return out;
}

std::string QueryValue(absl::string_view query, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first == name) return std::string(kv.second);
  }
  return "";
}

absl::StatusOr<HttpRequest> ParseHttpRequest(absl::string_view head, HttpError* error) {
  if (head.size() > kMaxHeadBytes) {
    return Fail(error, 431, absl::StrCat("request head of more than ", kMaxHeadBytes, " bytes"));
  }
  if (!absl::EndsWith(head, "\r\n\r\n")) return Fail(error, 400, "request head does not end with CRLF CRLF");
  head.remove_suffix(4);
  // Every line ends in CRLF: a bare CR or LF anywhere else is refused
  // (request smuggling through differing line ends).
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  for (absl::string_view line : lines) {
    if (line.find_first_of("\r\n") != absl::string_view::npos) {
      return Fail(error, 400, "bare CR or LF in the request head");
    }
  }
  HttpRequest req;
  // Request line: METHOD SP TARGET SP HTTP/1.x
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3) return Fail(error, 400, "request line is not 'METHOD TARGET HTTP/1.1'");
  if (!IsToken(parts[0])) return Fail(error, 400, "request method is not a token");
  req.method = std::string(parts[0]);
  absl::string_view version = parts[2];
  if (!absl::StartsWith(version, "HTTP/")) return Fail(error, 400, "request line does not end with HTTP/1.x");
  if (version == "HTTP/1.1") {
    req.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    req.minor_version = 0;
  } else {
    return Fail(error, 505, absl::StrCat("HTTP version ", version.substr(5), " is not served; use HTTP/1.1"));
  }
  absl::string_view target = parts[1];
  if (target.size() > 2048) return Fail(error, 414, "request target longer than 2048 bytes");
  if (target.empty() || target[0] != '/') return Fail(error, 400, "request target must be a path starting with '/'");
  for (char c : target) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return Fail(error, 400, "request target holds a byte not allowed in a URL");
  }
  size_t q = target.find('?');
  absl::string_view raw_path = target.substr(0, q);
  if (q != absl::string_view::npos) req.query = std::string(target.substr(q + 1));
  auto path = PercentDecode(raw_path);
  if (!path.ok()) return Fail(error, 400, absl::StrCat("request path: ", path.status().message()));
  req.path = *std::move(path);
  // No dot segments: "/install/../x" never names a file by accident.
  for (absl::string_view seg : absl::StrSplit(req.path, '/')) {
    if (seg == "." || seg == "..") return Fail(error, 400, "request path holds a '.' or '..' segment");
  }

  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line.empty()) return Fail(error, 400, "empty line inside the request head");
    if (line[0] == ' ' || line[0] == '\t') return Fail(error, 400, "folded header line (obs-fold) is not accepted");
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return Fail(error, 400, absl::StrCat("header line ", i, " has no ':'"));
    absl::string_view name = line.substr(0, colon);
    if (!IsToken(name)) return Fail(error, 400, absl::StrCat("header name on line ", i, " is not a token"));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (!IsFieldValue(value)) return Fail(error, 400, absl::StrCat("header value on line ", i, " holds a control byte"));
    if (req.headers.size() == kMaxHeaders) return Fail(error, 431, absl::StrCat("more than ", kMaxHeaders, " headers"));
    req.headers.emplace_back(absl::AsciiStrToLower(name), std::string(value));
  }
  if (!req.Header("transfer-encoding").empty()) return Fail(error, 413, "a request body is not accepted here");
  absl::string_view length = req.Header("content-length");
  if (!length.empty()) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(length, &n)) return Fail(error, 400, "Content-Length is not a number");
    if (n != 0) return Fail(error, 413, "a request body is not accepted here");
  }
  if (req.minor_version == 1 && req.Header("host").empty()) {
    return Fail(error, 400, "HTTP/1.1 request without a Host header");
  }
  return req;
}

}  // namespace steward::collector::http
