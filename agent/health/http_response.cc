#include "agent/health/http_response.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/parse_report.h"

namespace steward::agent {
namespace {

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

size_t FindHttpHeadEnd(absl::string_view data) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    // "\n\n" or "\n\r\n" ends the head.
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return absl::string_view::npos;
}

absl::StatusOr<HttpResponseHead> ParseHttpResponseHead(absl::string_view head) {
  if (size_t end = FindHttpHeadEnd(head); end != absl::string_view::npos)
    head = head.substr(0, end);
  HttpResponseHead out;
  size_t line_no = 0;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    absl::string_view line = head.substr(0, nl);
    head = nl == absl::string_view::npos ? absl::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    if (line_no == 1) {
      // HTTP/D.D SP DDD [SP reason]
      if (line.size() < 12 || !absl::StartsWith(line, "HTTP/") || !IsDigit(line[5]) ||
          line[6] != '.' || !IsDigit(line[7]) || line[8] != ' ' || !IsDigit(line[9]) ||
          !IsDigit(line[10]) || !IsDigit(line[11]) || (line.size() > 12 && line[12] != ' ') ||
          line[9] == '0') {
        return absl::InvalidArgumentError(absl::StrCat("malformed status line ", QuoteInput(line)));
      }
      out.major = line[5] - '0';
      out.minor = line[7] - '0';
      out.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
      if (line.size() > 13) out.reason = std::string(line.substr(13));
      continue;
    }
    if (line.empty()) break;  // The blank line ending the head.
    if (line[0] == ' ' || line[0] == '\t') {
      return absl::InvalidArgumentError(absl::StrCat(
          "header line ", line_no, ": folded header lines are obsolete: ", QuoteInput(line)));
    }
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + colon, IsTokenChar)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header line ", line_no, ": expected 'Name: value', found ", QuoteInput(line)));
    }
    if (out.headers.size() >= kMaxHttpHeaderFields) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxHttpHeaderFields, " header fields"));
    }
    out.headers.emplace_back(std::string(line.substr(0, colon)),
                             std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  if (line_no == 0) return absl::InvalidArgumentError("empty response");
  return out;
}

}  // namespace steward::agent
