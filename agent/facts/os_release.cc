#include "agent/facts/os_release.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward::agent {
namespace {

bool IsValidKey(absl::string_view key) {
  if (key.empty()) return false;
  if (!absl::ascii_isalpha(key[0]) && key[0] != '_') return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// Decodes a shell-style value; on error returns nullopt and sets `error`.
std::optional<std::string> DecodeValue(absl::string_view raw, std::string* error) {
  std::string v;
  v.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < raw.size()) {
        const char d = raw[i];
        if (d == '\\' && i + 1 < raw.size()) {
          const char e = raw[i + 1];
          if (e == '$' || e == '"' || e == '\\' || e == '`') {
            v.push_back(e);
            i += 2;
            continue;
          }
        }
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        v.push_back(d);
        ++i;
      }
      if (!closed) {
        *error = "unterminated double quote";
        return std::nullopt;
      }
    } else if (c == '\'') {
      size_t close = raw.find('\'', i + 1);
      if (close == absl::string_view::npos) {
        *error = "unterminated single quote";
        return std::nullopt;
      }
      v.append(raw.data() + i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '\\') {
      // Outside quotes a backslash makes the next character literal.
      if (i + 1 >= raw.size()) {
        *error = "value ends in a lone backslash";
        return std::nullopt;
      }
      v.push_back(raw[i + 1]);
      i += 2;
    } else {
      v.push_back(c);
      ++i;
    }
  }
  return v;
}

}  // namespace

OsRelease ParseOsRelease(absl::string_view text, absl::string_view origin, ParseReport* report) {
  OsRelease out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == absl::string_view::npos ? text.size() : nl;
    absl::string_view line = absl::StripAsciiWhitespace(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("no '=' in ", QuoteInput(line), "; skipped"));
      continue;
    }
    absl::string_view key = line.substr(0, eq);
    if (!IsValidKey(key)) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("invalid key ", QuoteInput(key), "; skipped"));
      continue;
    }
    std::string error;
    std::optional<std::string> value = DecodeValue(line.substr(eq + 1), &error);
    if (!value.has_value()) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat(error, " in value of ", QuoteInput(key), "; skipped"));
      continue;
    }
    out.fields.insert_or_assign(std::string(key), *std::move(value));
  }
  auto field = [&out](const char* key) {
    auto it = out.fields.find(key);
    return it == out.fields.end() ? std::string() : it->second;
  };
  out.id = field("ID");
  out.name = field("NAME");
  out.pretty_name = field("PRETTY_NAME");
  out.version_id = field("VERSION_ID");
  return out;
}

absl::StatusOr<OsRelease> ReadOsRelease(const std::string& path, ParseReport* report) {
  ASSIGN_OR_RETURN(std::string text, steward::ReadFile(path));
  return ParseOsRelease(text, path, report);
}

}  // namespace steward::agent
