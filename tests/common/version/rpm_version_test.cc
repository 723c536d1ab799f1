#include "common/version/rpm_version.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/version/package_version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace steward {
namespace {

using ::testing::HasSubstr;
using testing::RunProcess;
using testing::StderrMode;

int Sign(int v) { return (v > 0) - (v < 0); }

// rpm's own test table (rpm's tests/rpmvercmp.at), as (a, b, rpmvercmp).
TEST(RpmVerCmp, AgreesWithRpmsOwnTable) {
  struct Case {
    const char* a;
    const char* b;
    int want;
  };
  const Case cases[] = {
      {"1.0", "1.0", 0},         {"1.0", "2.0", -1},          {"2.0", "1.0", 1},
      {"2.0.1", "2.0.1", 0},     {"2.0", "2.0.1", -1},        {"2.0.1", "2.0", 1},
      {"2.0.1a", "2.0.1a", 0},   {"2.0.1a", "2.0.1", 1},      {"2.0.1", "2.0.1a", -1},
      {"5.5p1", "5.5p1", 0},     {"5.5p1", "5.5p2", -1},      {"5.5p2", "5.5p1", 1},
      {"5.5p10", "5.5p10", 0},   {"5.5p1", "5.5p10", -1},     {"5.5p10", "5.5p1", 1},
      {"10xyz", "10.1xyz", -1},  {"10.1xyz", "10xyz", 1},     {"xyz10", "xyz10", 0},
      {"xyz10", "xyz10.1", -1},  {"xyz10.1", "xyz10", 1},     {"xyz.4", "xyz.4", 0},
      {"xyz.4", "8", -1},        {"8", "xyz.4", 1},           {"xyz.4", "2", -1},
      {"2", "xyz.4", 1},         {"5.5p2", "5.6p1", -1},      {"5.6p1", "5.5p2", 1},
      {"5.6p1", "6.5p1", -1},    {"6.5p1", "5.6p1", 1},       {"6.0.rc1", "6.0", 1},
      {"6.0", "6.0.rc1", -1},    {"10b2", "10a1", 1},         {"10a2", "10b2", -1},
      {"1.0aa", "1.0aa", 0},     {"1.0a", "1.0aa", -1},       {"1.0aa", "1.0a", 1},
      {"10.0001", "10.0001", 0}, {"10.0001", "10.1", 0},      {"10.1", "10.0001", 0},
      {"10.0001", "10.0039", -1}, {"10.0039", "10.0001", 1},  {"4.999.9", "5.0", -1},
      {"5.0", "4.999.9", 1},     {"20101121", "20101121", 0}, {"20101121", "20101122", -1},
      {"20101122", "20101121", 1}, {"2_0", "2_0", 0},         {"2.0", "2_0", 0},
      {"2_0", "2.0", 0},         {"a", "a", 0},               {"a+", "a+", 0},
      {"a+", "a_", 0},           {"a_", "a+", 0},             {"+a", "+a", 0},
      {"+a", "_a", 0},           {"_a", "+a", 0},             {"+_", "+_", 0},
      {"_+", "+_", 0},           {"_+", "_+", 0},             {"+", "_", 0},
      {"_", "+", 0},             {"1.0~rc1", "1.0~rc1", 0},   {"1.0~rc1", "1.0", -1},
      {"1.0", "1.0~rc1", 1},     {"1.0~rc1", "1.0~rc2", -1},  {"1.0~rc2", "1.0~rc1", 1},
      {"1.0~rc1~git123", "1.0~rc1~git123", 0}, {"1.0~rc1~git123", "1.0~rc1", -1},
      {"1.0~rc1", "1.0~rc1~git123", 1},        {"1.0^", "1.0^", 0},
      {"1.0^", "1.0", 1},        {"1.0", "1.0^", -1},         {"1.0^git1", "1.0^git1", 0},
      {"1.0^git1", "1.0", 1},    {"1.0", "1.0^git1", -1},     {"1.0^git1", "1.0^git2", -1},
      {"1.0^git2", "1.0^git1", 1}, {"1.0^git1", "1.01", -1},  {"1.01", "1.0^git1", 1},
      {"1.0^20160101", "1.0^20160101", 0}, {"1.0^20160101", "1.0.1", -1},
      {"1.0.1", "1.0^20160101", 1}, {"1.0^20160101^git1", "1.0^20160101^git1", 0},
      {"1.0^20160102", "1.0^20160101^git1", 1}, {"1.0^20160101^git1", "1.0^20160102", -1},
      {"1.0~rc1^git1", "1.0~rc1^git1", 0}, {"1.0~rc1^git1", "1.0~rc1", 1},
      {"1.0~rc1", "1.0~rc1^git1", -1}, {"1.0^git1~pre", "1.0^git1~pre", 0},
      {"1.0^git1", "1.0^git1~pre", 1}, {"1.0^git1~pre", "1.0^git1", -1},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Sign(RpmVerCmp(c.a, c.b)), c.want) << c.a << " vs " << c.b;
  }
}

// The answers of the real rpm (rpm.vercmp from rpm's Lua, one process for a
// whole batch) for random strings over the characters that matter.
std::vector<int> RpmSays(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string lua = "%{lua: local p = {";
  for (const auto& [a, b] : pairs) absl::StrAppend(&lua, "{'", a, "','", b, "'},");
  lua += "} for _, x in ipairs(p) do print(rpm.vercmp(x[1], x[2]) .. ' ') end}";
  auto r = RunProcess({"rpm", "--eval", lua}, StderrMode::kMerge);
  std::vector<int> out;
  if (!r.has_value() || r->exit_code != 0) return out;
  for (absl::string_view w : absl::StrSplit(r->out, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    out.push_back(w == "-1" ? -1 : w == "1" ? 1 : 0);
  }
  return out;
}

TEST(RpmVerCmp, AgreesWithRpmOnRandomVersions) {
  auto probe = RunProcess({"rpm", "--version"}, StderrMode::kDiscard);
  ASSERT_TRUE(probe.has_value() && probe->exit_code == 0)
      << "rpm is missing: deploy/install-deps.sh installs it (Debian package rpm)";
  std::mt19937 rng(20261204);
  const std::string alphabet = "0001129aabz.~^_+";
  auto random_version = [&] {
    std::string s(1 + rng() % 7, '0');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 3000; ++i) {
    std::string a = random_version();
    // Half the pairs share a prefix, so the interesting tails meet.
    std::string b = (i % 2 == 0) ? a.substr(0, rng() % (a.size() + 1)) + random_version() : random_version();
    pairs.emplace_back(a, b);
  }
  std::vector<int> want = RpmSays(pairs);
  ASSERT_EQ(want.size(), pairs.size()) << "could not run rpm --eval";
  int mismatches = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (Sign(RpmVerCmp(pairs[i].first, pairs[i].second)) != want[i] && ++mismatches <= 10) {
      ADD_FAILURE() << pairs[i].first << " vs " << pairs[i].second << ": rpm says " << want[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(ParseRpmEvr, SplitsEpochVersionRelease) {
  auto v = ParseRpmEvr("1:1.1.1k-5.el8_5");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->epoch, 1u);
  EXPECT_TRUE(v->has_epoch);
  EXPECT_EQ(v->version, "1.1.1k");
  EXPECT_EQ(v->release, "5.el8_5");
  EXPECT_TRUE(v->has_release);
  v = ParseRpmEvr("2.34");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->has_epoch);
  EXPECT_FALSE(v->has_release);
  EXPECT_EQ(v->version, "2.34");
  // A prefix that is not a number is part of the version, as in rpm.
  v = ParseRpmEvr("git:1.0");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->has_epoch);
  EXPECT_EQ(v->version, "git:1.0");
}

TEST(ParseRpmEvr, RefusesBrokenVersionsNamingTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},           {"1.0-", "release after '-' is empty"},
      {"1:", "version is empty"}, {"-1", "version is empty"},
      {"1 .0", "blanks"},      {"99999999999:1", "epoch is too large"},
      {"4294967296:1", "epoch is too large"}, {std::string("1\0", 2).c_str(), "version"},
  };
  for (const auto& [text, reason] : cases) {
    auto v = ParseRpmEvr(text);
    EXPECT_FALSE(v.ok()) << text;
    EXPECT_THAT(v.status().message(), HasSubstr(reason)) << text;
  }
  EXPECT_THAT(ParseRpmEvr(std::string("1.\x01", 3)).status().message(), HasSubstr("control"));
}

TEST(CompareRpmEvr, WantedWithoutReleaseMatchesAnyRelease) {
  auto cmp = [](const char* installed, const char* wanted) {
    auto a = ParseRpmEvr(installed);
    auto b = ParseRpmEvr(wanted);
    EXPECT_TRUE(a.ok() && b.ok()) << installed << " " << wanted;
    return Sign(CompareRpmEvr(*a, *b));
  };
  EXPECT_EQ(cmp("1.1.1k-5.el8", "1.1.1k"), 0);
  EXPECT_EQ(cmp("1.1.1k-5.el8", "1.1.1l"), -1);
  EXPECT_EQ(cmp("1.1.1k-5.el8", "1.1.1k-6"), -1);
  EXPECT_EQ(cmp("1.1.1k-10.el8", "1.1.1k-9.el8"), 1);
  EXPECT_EQ(cmp("1:1.0-1", "2.0-1"), 1);   // epoch first
  EXPECT_EQ(cmp("0:1.0-1", "1.0-1"), 0);   // absent epoch is 0
  EXPECT_EQ(cmp("1.0", "1.0-1"), -1);      // installed without release: ""
}

TEST(ComparePackageVersion, UsesEachSourcesOrdering) {
  // dpkg: an absent revision is "0"; rpm: an absent wanted release is any.
  EXPECT_EQ(Sign(ComparePackageVersion("dpkg", "1.0-0", "1.0")), 0);
  EXPECT_EQ(Sign(ComparePackageVersion("dpkg", "1.0-1", "1.0")), 1);
  EXPECT_EQ(Sign(ComparePackageVersion("rpm", "1.0-1", "1.0")), 0);
  // Where the two disagree: dpkg puts letters before '.', rpm skips '.'.
  EXPECT_EQ(Sign(ComparePackageVersion("dpkg", "1.0a", "1.0.1")), -1);
  EXPECT_EQ(Sign(ComparePackageVersion("rpm", "1.0a", "1.0.1")), -1);
  EXPECT_EQ(Sign(ComparePackageVersion("dpkg", "1.0+b1", "1.0.1")), -1);
  EXPECT_EQ(Sign(ComparePackageVersion("rpm", "1.0_1", "1.0.1")), 0);
  EXPECT_EQ(Sign(ComparePackageVersion("dpkg", "1:0.9", "2.0")), 1);
  // Other sources: segment ordering.
  EXPECT_EQ(Sign(ComparePackageVersion("pip", "2.10.0", "2.9.1")), 1);
  EXPECT_EQ(Sign(ComparePackageVersion("npm", "1.2.3", "1.2.3")), 0);
  // A version dpkg rejects sorts after every valid one.
  EXPECT_EQ(Sign(ComparePackageVersion("dpkg", "not a version", "99")), 1);
}

}  // namespace
}  // namespace steward
