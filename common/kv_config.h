#pragma once
// The config file format shared by the agent config and admin.conf:
//
//   # comment
//   collector = 127.0.0.1:7443
//   label = env=prod        <- keys may repeat; order is kept
//
// One `key = value` per line, whitespace around both trimmed, values may be
// wrapped in double quotes (to keep leading/trailing spaces). Keys are
// [a-z0-9_.-]+. Errors name the file and line.

#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace steward {

// A parsed config file: ordered (key, value) entries. Immutable after parse;
// safe to read from several threads.
class KvConfig {
 public:
  static absl::StatusOr<KvConfig> Parse(absl::string_view text, absl::string_view origin);
  static absl::StatusOr<KvConfig> Load(const std::string& path);

  // Last value of `key`, or `fallback` when absent.
  std::string Get(absl::string_view key, absl::string_view fallback = "") const;
  bool Has(absl::string_view key) const;
  // Every value of a repeated key, in file order.
  std::vector<std::string> GetAll(absl::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  // Keys not in `known`, for "unknown key" warnings or errors.
  std::vector<std::string> UnknownKeys(const std::vector<absl::string_view>& known) const;

  // Renders entries back to the file format (used to write admin.conf).
  // Values with surrounding blanks or quotes are quoted so Parse gives them
  // back unchanged; a key that Parse would refuse, or a value with a line
  // break or NUL (the format has no escapes), is an InvalidArgument error.
  static absl::StatusOr<std::string> Render(const std::vector<std::pair<std::string, std::string>>& entries,
                            absl::string_view header_comment);

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace steward
