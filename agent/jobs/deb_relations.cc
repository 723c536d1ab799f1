#include "agent/jobs/deb_relations.h"

#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/version/dpkg_version.h"

namespace steward::agent {
namespace {

using Op = DebRelation::Op;

bool IsNameChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) || absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
         c == '+' || c == '-' || c == '.';
}

const char* OpText(Op op) {
  switch (op) {
    case Op::kLess: return "<<";
    case Op::kLessEq: return "<=";
    case Op::kEq: return "=";
    case Op::kGreaterEq: return ">=";
    case Op::kGreater: return ">>";
    case Op::kAny: break;
  }
  return "";
}

std::string Describe(const DebRelation& r) {
  std::string s = r.name;
  if (!r.arch.empty()) absl::StrAppend(&s, ":", r.arch);
  if (r.op != Op::kAny) absl::StrAppend(&s, " (", OpText(r.op), " ", r.version, ")");
  return s;
}

bool VersionHolds(Op op, const std::string& have, const std::string& want) {
  if (op == Op::kAny) return true;
  if (have.empty()) return false;  // an unversioned Provides meets no versioned relation
  const int c = CompareDpkgVersionStrings(have, want);
  switch (op) {
    case Op::kLess: return c < 0;
    case Op::kLessEq: return c <= 0;
    case Op::kEq: return c == 0;
    case Op::kGreaterEq: return c >= 0;
    case Op::kGreater: return c > 0;
    case Op::kAny: break;
  }
  return true;
}

// The installed version meeting `r` (itself or through a Provides), or
// nullptr; `exclude` is the package being installed.
const std::string* Meets(const DebRelation& r, const DebInstalledSet& set, const std::string& exclude,
                         std::string* provider) {
  if (auto it = set.packages.find(r.name); it != set.packages.end() && r.name != exclude &&
                                           VersionHolds(r.op, it->second, r.version)) {
    *provider = r.name;
    return &it->second;
  }
  auto [begin, end] = set.provides.equal_range(r.name);
  for (auto it = begin; it != end; ++it) {
    if (it->second.first != exclude && VersionHolds(r.op, it->second.second, r.version)) {
      *provider = it->second.first;
      return &it->second.second;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::vector<DebClause>> ParseDebRelations(absl::string_view text, absl::string_view field) {
  std::vector<DebClause> out;
  if (absl::StripAsciiWhitespace(text).empty()) return out;
  int n = 0;
  for (absl::string_view clause_text : absl::StrSplit(text, ',')) {
    ++n;
    auto fail = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": clause ", n, " ('",
                                                     absl::StripAsciiWhitespace(clause_text).substr(0, 60), "'): ",
                                                     what));
    };
    DebClause clause;
    for (absl::string_view alt : absl::StrSplit(clause_text, '|')) {
      absl::string_view s = absl::StripAsciiWhitespace(alt);
      if (s.empty()) return fail("an empty relation (two separators in a row, or one at an end)");
      DebRelation r;
      size_t i = 0;
      while (i < s.size() && IsNameChar(s[i])) ++i;
      r.name = std::string(s.substr(0, i));
      if (r.name.size() < 2 || !absl::ascii_isalnum(static_cast<unsigned char>(r.name[0]))) {
        return fail(absl::StrCat("'", s.substr(0, 40), "' does not start with a package name (lower-case letters, digits, + - .; at least 2)"));
      }
      if (i < s.size() && s[i] == ':') {
        size_t j = ++i;
        while (i < s.size() && (absl::ascii_isalnum(static_cast<unsigned char>(s[i])) || s[i] == '-')) ++i;
        r.arch = std::string(s.substr(j, i - j));
        if (r.arch.empty()) return fail("an empty architecture after ':'");
      }
      s = absl::StripLeadingAsciiWhitespace(s.substr(i));
      if (absl::ConsumePrefix(&s, "(")) {
        s = absl::StripLeadingAsciiWhitespace(s);
        if (absl::ConsumePrefix(&s, "<<")) r.op = Op::kLess;
        else if (absl::ConsumePrefix(&s, "<=")) r.op = Op::kLessEq;
        else if (absl::ConsumePrefix(&s, ">=")) r.op = Op::kGreaterEq;
        else if (absl::ConsumePrefix(&s, ">>")) r.op = Op::kGreater;
        else if (absl::ConsumePrefix(&s, "=")) r.op = Op::kEq;
        else if (absl::ConsumePrefix(&s, "<")) r.op = Op::kLessEq;  // legacy
        else if (absl::ConsumePrefix(&s, ">")) r.op = Op::kGreaterEq;  // legacy
        else return fail("expected one of << <= = >= >> after '('");
        size_t close = s.find(')');
        if (close == absl::string_view::npos) return fail("')' missing after the version");
        absl::string_view v = absl::StripAsciiWhitespace(s.substr(0, close));
        if (v.empty()) return fail("no version before ')'");
        auto parsed = ParseDpkgVersion(std::string_view(v.data(), v.size()));
        if (!parsed.ok()) return fail(parsed.status().message());
        r.version = std::string(v);
        s = absl::StripLeadingAsciiWhitespace(s.substr(close + 1));
      }
      // Architecture restrictions and build profiles: skipped.
      while (!s.empty() && (s[0] == '[' || s[0] == '<')) {
        const char close_char = s[0] == '[' ? ']' : '>';
        size_t close = s.find(close_char);
        if (close == absl::string_view::npos) return fail(absl::StrCat("'", std::string(1, close_char), "' missing"));
        s = absl::StripLeadingAsciiWhitespace(s.substr(close + 1));
      }
      if (!s.empty()) return fail(absl::StrCat("unexpected '", s.substr(0, 20), "' after ", Describe(r)));
      clause.push_back(std::move(r));
    }
    out.push_back(std::move(clause));
  }
  return out;
}

std::vector<std::string> UnmetRelations(const DebPackageRelations& pkg, const DebInstalledSet& installed) {
  std::vector<std::string> problems;
  for (const DebClause& clause : pkg.depends) {
    bool met = false;
    std::string provider;
    for (const DebRelation& r : clause) met = met || Meets(r, installed, pkg.package, &provider) != nullptr;
    if (met) continue;
    std::vector<std::string> alts;
    std::vector<std::string> have;
    for (const DebRelation& r : clause) {
      alts.push_back(Describe(r));
      if (auto it = installed.packages.find(r.name); it != installed.packages.end() && r.name != pkg.package) {
        have.push_back(absl::StrCat(r.name, " ", it->second, " is installed"));
      }
    }
    problems.push_back(absl::StrCat("depends on ", absl::StrJoin(alts, " | "),
                                    have.empty() ? ", which is not installed" : absl::StrCat(", but ", absl::StrJoin(have, ", "))));
  }
  for (const DebClause& clause : pkg.conflicts) {
    for (const DebRelation& r : clause) {
      std::string provider;
      const std::string* v = Meets(r, installed, pkg.package, &provider);
      if (v != nullptr) {
        problems.push_back(absl::StrCat("conflicts with ", Describe(r), " (installed: ",
                                        provider == r.name ? *v : absl::StrCat("provided by ", provider), ")"));
      }
    }
  }
  return problems;
}

}  // namespace steward::agent
