#pragma once
// Command-line flags for the three binaries: `--name value`, `--name=value`,
// boolean `--name`, repeatable flags, and positional words in any order.
// Unknown flags and missing values are errors that name the flag. Not
// thread-safe; build, parse once, read.

#include <map>
#include <set>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"

namespace steward {

class ArgParser {
 public:
  ArgParser& Flag(std::string name, std::string* out, std::string help);
  ArgParser& Repeated(std::string name, std::vector<std::string>* out, std::string help);
  ArgParser& Bool(std::string name, bool* out, std::string help);

  // Parses `args` (without argv[0]); words not starting with "--" go to
  // `positional` (when null, a positional word is an error). "--" ends flags.
  absl::Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);
  bool WasSet(absl::string_view name) const { return set_.count(std::string(name)) > 0; }
  // One line per flag: "  --name VALUE   help".
  std::string Usage() const;

 private:
  enum class Kind { kValue, kRepeated, kBool };
  struct Spec {
    Kind kind;
    void* out;
    std::string help;
  };
  std::map<std::string, Spec> specs_;
  std::vector<std::string> order_;
  std::set<std::string> set_;
};

}  // namespace steward
