#pragma once
// Debian package relationship fields (Depends, Pre-Depends, Conflicts,
// Breaks), parsed as dpkg reads them (deb-control(5)), and checked against
// the installed packages before a job installs anything: the dependency and
// conflict pre-check (`dpkg --no-act` does not check dependencies).

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::agent {

// One alternative: NAME[:ARCH] [(OP VERSION)].
struct DebRelation {
  enum class Op { kAny, kLess, kLessEq, kEq, kGreaterEq, kGreater };
  std::string name;
  std::string arch;  // "any", "amd64"... or empty
  Op op = Op::kAny;
  std::string version;
};

// Alternatives of one clause ("a | b").
using DebClause = std::vector<DebRelation>;

// Parses a relationship field's value. `field` names it in errors, which
// say which clause and what was expected ("Depends: clause 2 ('libc6 (>=
// 2.36'): ')' missing after the version"). Empty or blank text is no
// relation. Architecture restrictions ("[amd64]") and build profiles
// ("<!nocheck>") are accepted and ignored (they belong to source packages).
// The legacy operators '<' and '>' mean '<=' and '>=', as in dpkg.
absl::StatusOr<std::vector<DebClause>> ParseDebRelations(absl::string_view text, absl::string_view field);

// What is installed: package name -> version; virtual name -> (providing
// package, version it provides, "" for an unversioned Provides).
struct DebInstalledSet {
  std::map<std::string, std::string> packages;
  std::multimap<std::string, std::pair<std::string, std::string>> provides;
};

// The relations of a package about to be installed, as DebControl fields.
struct DebPackageRelations {
  std::string package;  // its own name: not a conflict with itself
  std::vector<DebClause> depends;     // Depends and Pre-Depends
  std::vector<DebClause> conflicts;   // Conflicts and Breaks
};

// One line per problem, "depends on libfoo (>= 2), but 1.5 is installed",
// "conflicts with bar (installed: 1.0)". Empty when it can be installed.
std::vector<std::string> UnmetRelations(const DebPackageRelations& pkg, const DebInstalledSet& installed);

}  // namespace steward::agent
