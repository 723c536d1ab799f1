// A Debian relationship field (agent/jobs/deb_relations.h) from fuzzed
// bytes: no crash; what parses has non-empty clauses with valid names and,
// for versioned relations, versions dpkg accepts; checking it against a
// small installed set does not crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/jobs/deb_relations.h"
#include "common/version/dpkg_version.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace steward::agent;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseDebRelations(text, "Depends");
  if (!parsed.ok()) return 0;
  for (const DebClause& clause : *parsed) {
    Check(!clause.empty());
    for (const DebRelation& r : clause) {
      Check(r.name.size() >= 2);
      Check((r.op == DebRelation::Op::kAny) == r.version.empty());
      if (!r.version.empty()) Check(steward::ParseDpkgVersion(r.version).ok());
    }
  }
  DebInstalledSet installed;
  installed.packages = {{"libc6", "2.36-9"}, {"aa", "1:0"}};
  installed.provides.emplace("mta", std::make_pair("aa", ""));
  DebPackageRelations pkg{"aa", *parsed, *parsed};
  (void)UnmetRelations(pkg, installed);
  return 0;
}
