#include "common/kv_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward {
namespace {
bool ValidKey(absl::string_view k) {
  if (k.empty()) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return absl::ascii_islower(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}
}  // namespace

absl::StatusOr<KvConfig> KvConfig::Parse(absl::string_view text, absl::string_view origin) {
  KvConfig cfg;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    auto where = [&] { return absl::StrCat(origin, " line ", line_no, ": "); };
    if (line.find('\0') != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where(), "contains a NUL byte"));
    }
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "expected 'key = value', found '", line, "'"));
    }
    std::string key = std::string(absl::StripAsciiWhitespace(line.substr(0, eq)));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (!ValidKey(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "invalid key '", key, "' (use lower-case letters, digits, _ . -)"));
    }
    if (!value.empty() && value.front() == '"') {
      if (value.size() < 2 || value.back() != '"') {
        return absl::InvalidArgumentError(absl::StrCat(where(), "unterminated quoted value"));
      }
      value = value.substr(1, value.size() - 2);
    }
    cfg.entries_.emplace_back(std::move(key), std::string(value));
  }
  return cfg;
}

absl::StatusOr<KvConfig> KvConfig::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

std::string KvConfig::Get(absl::string_view key, absl::string_view fallback) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return std::string(fallback);
}

bool KvConfig::Has(absl::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == key; });
}

std::vector<std::string> KvConfig::GetAll(absl::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

std::vector<std::string> KvConfig::UnknownKeys(const std::vector<absl::string_view>& known) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) {
    if (std::find(known.begin(), known.end(), k) == known.end()) out.push_back(k);
  }
  return out;
}

absl::StatusOr<std::string> KvConfig::Render(const std::vector<std::pair<std::string, std::string>>& entries,
                                             absl::string_view header_comment) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(header_comment, '\n')) {
    if (!line.empty()) absl::StrAppend(&out, "# ", line, "\n");
  }
  for (const auto& [k, v] : entries) {
    if (!ValidKey(k)) return absl::InvalidArgumentError(absl::StrCat("cannot write key '", k, "'"));
    if (v.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("value of '", k, "' has a line break or NUL byte"));
    }
    bool quote = !v.empty() && (absl::ascii_isspace(static_cast<unsigned char>(v.front())) ||
                                absl::ascii_isspace(static_cast<unsigned char>(v.back())) || v.front() == '"');
    absl::StrAppend(&out, k, " = ", quote ? absl::StrCat("\"", v, "\"") : v, "\n");
  }
  return out;
}

}  // namespace steward
