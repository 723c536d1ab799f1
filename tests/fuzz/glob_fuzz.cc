// Name globs (common/glob.h) from fuzzed bytes: the input's first line is
// the pattern, the rest a name. No crash, bounded time; a refusal names the
// pattern; every match starts with the literal prefix (folded when the
// match folds case); a literal pattern matches exactly its prefix.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "common/glob.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using steward::Glob;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string pattern = input.substr(0, nl);
  const std::string name = nl == std::string::npos ? "" : input.substr(nl + 1);
  auto g = Glob::Parse(pattern);
  if (!g.ok()) {
    Check(std::string(g.status().message()).rfind("name pattern", 0) == 0);
    return 0;
  }
  const bool exact = g->Matches(name);
  const bool folded = g->Matches(name, Glob::Case::kFoldAscii);
  Check(!exact || folded);
  if (exact) Check(name.rfind(g->literal_prefix(), 0) == 0);
  if (folded) {
    Check(absl::AsciiStrToLower(name).rfind(absl::AsciiStrToLower(g->literal_prefix()), 0) == 0);
  }
  if (g->is_literal()) Check(exact == (name == g->literal_prefix()));
  if (g->is_literal()) Check(g->Matches(g->literal_prefix()));
  return 0;
}
