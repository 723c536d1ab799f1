#include "common/version/dpkg_version.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace steward {
namespace {

using ::testing::HasSubstr;
using testing::RunProcess;
using testing::StderrMode;

// dpkg and dpkg-query run with stderr discarded: dpkg warns there about
// versions that do not start with a digit.
bool HaveDpkg() {
  auto r = RunProcess({"dpkg", "--version"}, StderrMode::kDiscard);
  return r.has_value() && r->exit_code == 0;
}

// `dpkg --compare-versions a op b`: true/false, or nullopt when dpkg fails
// (exit code 2 when it rejects a version).
std::optional<bool> DpkgSays(const std::string& a, const char* op, const std::string& b) {
  // "--" so versions starting with '-' are not taken for options.
  auto r = RunProcess({"dpkg", "--compare-versions", "--", a, op, b}, StderrMode::kDiscard);
  if (!r.has_value() || (r->exit_code != 0 && r->exit_code != 1)) return std::nullopt;
  return r->exit_code == 0;
}

// dpkg's three-way answer, with at most two processes per pair.
std::optional<int> DpkgCompare(const std::string& a, const std::string& b) {
  std::optional<bool> lt = DpkgSays(a, "lt", b);
  if (!lt.has_value()) return std::nullopt;
  if (*lt) return -1;
  std::optional<bool> eq = DpkgSays(a, "eq", b);
  if (!eq.has_value()) return std::nullopt;
  return *eq ? 0 : 1;
}

int Cmp(std::string_view a, std::string_view b) {
  int rc = CompareDpkgVersionStrings(a, b);
  return (rc > 0) - (rc < 0);
}

// ---------------------------------------------------------------- parsing

TEST(ParseDpkgVersion, SplitsEpochUpstreamRevision) {
  auto v = ParseDpkgVersion("2:1.2.3-4ubuntu1~22.04");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->epoch, 2u);
  EXPECT_EQ(v->upstream, "1.2.3");
  EXPECT_EQ(v->revision, "4ubuntu1~22.04");
}

TEST(ParseDpkgVersion, RevisionIsAfterLastHyphen) {
  auto v = ParseDpkgVersion("1.0-beta-2");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->epoch, 0u);
  EXPECT_EQ(v->upstream, "1.0-beta");
  EXPECT_EQ(v->revision, "2");
}

TEST(ParseDpkgVersion, NoRevisionAndColonsInUpstream) {
  auto v = ParseDpkgVersion("1:2:3");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->epoch, 1u);
  EXPECT_EQ(v->upstream, "2:3");
  EXPECT_EQ(v->revision, "");
}

TEST(ParseDpkgVersion, TrimsBlanksAndAcceptsLargestEpoch) {
  auto v = ParseDpkgVersion(" \t2147483647:1.0 ");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->epoch, 2147483647u);
  EXPECT_EQ(v->upstream, "1.0");
  auto zeros = ParseDpkgVersion("0002:1");
  ASSERT_TRUE(zeros.ok()) << zeros.status();
  EXPECT_EQ(zeros->epoch, 2u);
}

TEST(ParseDpkgVersion, AcceptsUpstreamNotStartingWithDigit) {
  // Only a warning in dpkg ("version number does not start with digit").
  auto v = ParseDpkgVersion("abc1.0-1");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->upstream, "abc1.0");
}

TEST(ParseDpkgVersion, RejectsBrokenInputsNamingVersionAndReason) {
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "version string is empty"},
      {"   ", "version string is empty"},
      {"1.0 2", "embedded spaces"},
      {":1.0", "epoch in version is empty"},
      {"a:1.0", "epoch in version is not number"},
      {"-1:1.0", "epoch in version is not number"},
      {"+1:1.0", "epoch in version is not number"},
      {"1.5:1.0", "epoch in version is not number"},
      {"2147483648:1.0", "epoch in version is too big"},
      {"99999999999999999999999:1.0", "epoch in version is too big"},
      {"1:", "nothing after colon"},
      {"1.0-", "revision number is empty"},
      {"-1", "version number is empty"},
      {"1:-1", "version number is empty"},
      {"1.0_1", "invalid character in version number"},
      {"1.0!", "invalid character in version number"},
      {std::string("1.0\0x", 5), "invalid character in version number"},
      {"1.0\n", "invalid character in version number"},
      {"1.0\xff", "invalid character in version number"},
      {"1:1.0-1:2", "invalid character in revision number"},
      {"1.0-1_2", "invalid character in revision number"},
  };
  for (const Case& c : cases) {
    auto v = ParseDpkgVersion(c.text);
    ASSERT_FALSE(v.ok()) << "accepted '" << c.text << "'";
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(v.status().message(), HasSubstr(c.reason)) << c.text;
    EXPECT_THAT(v.status().message(), HasSubstr("version '")) << c.text;
  }
  EXPECT_THAT(ParseDpkgVersion("1.0_1").status().message(), HasSubstr("'1.0_1'"));
}

// ------------------------------------------------------------- comparing

TEST(CompareDpkgVersions, HandWrittenEdgeCases) {
  struct Case {
    const char* a;
    const char* b;
    int want;
  };
  const std::vector<Case> cases = {
      {"1.0", "1.0", 0},
      {"1.0", "1.1", -1},
      {"1.10", "1.9", 1},
      {"1.0", "1.0-0", 0},       // absent revision compares like "0"
      {"1.0-0", "1.0-0.0", -1},  // a '.' is more than nothing
      {"1.0", "1.0-1", -1},
      {"1.0", "1.00", 0},  // leading zeros do not count
      {"01.0", "1.0", 0},
      {"1.001", "1.1", 0},
      {"0:1.0", "1.0", 0},
      {"1:0.1", "2.0", 1},     // epoch wins
      {"2:0", "10:0", -1},     // epochs numerically
      {"1.0~rc1", "1.0", -1},  // '~' before the end of the string
      {"1.0~~", "1.0~", -1},
      {"1.0~~a", "1.0~~", 1},
      {"1.0~", "1.0~a", -1},
      {"1.0~rc1", "1.0~rc2", -1},
      {"1.0~", "1.0", -1},
      {"1.0+b1", "1.0", 1},  // '+' after the end of the string
      {"1.0+", "1.0.", -1},  // '+' (43) before '.' (46)
      {"1.0a", "1.0+", -1},  // letters before non-letters
      {"1.0a", "1.0", 1},
      {"1.0A", "1.0a", -1},
      {"1.0-1~bpo1", "1.0-1", -1},
      {"1.0-1+deb12u1", "1.0-1", 1},
      {"1.0-1ubuntu1", "1.0-1", 1},
      {"1.2.3", "1.2.3.0", -1},  // a '.' is more than nothing
      {"1:1.0", "1:1.0-0", 0},
      {"a", "b", -1},
      {"1a", "1b", -1},
      {"1-1", "1-1a", -1},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Cmp(c.a, c.b), c.want) << c.a << " vs " << c.b;
    EXPECT_EQ(Cmp(c.b, c.a), -c.want) << c.b << " vs " << c.a;
  }
}

TEST(CompareDpkgVersions, HugeDigitRunsDoNotOverflow) {
  const std::string big(500, '9');
  EXPECT_EQ(Cmp("1." + big, "1." + big), 0);
  EXPECT_EQ(Cmp("1." + big, "1.1" + big), -1);
  EXPECT_EQ(Cmp("1.18446744073709551616", "1.18446744073709551615"), 1);
  EXPECT_EQ(Cmp("1.18446744073709551616", "1.99999999999999999999"), -1);
  EXPECT_EQ(Cmp("1.000000000000000000000000000000000000001", "1.1"), 0);
  EXPECT_EQ(
      Cmp("100000000000000000000000000000000000000", "99999999999999999999999999999999999999"), 1);
  EXPECT_EQ(Cmp("1-" + big + "0", "1-" + big), 1);
}

TEST(CompareDpkgVersions, ParsedStructsDirectly) {
  DpkgVersion a{.epoch = 1, .upstream = "1.0", .revision = ""};
  DpkgVersion b{.epoch = 1, .upstream = "1.0", .revision = "0"};
  EXPECT_EQ(CompareDpkgVersions(a, b), 0);
  DpkgVersion c{.epoch = UINT64_MAX, .upstream = "0", .revision = ""};
  EXPECT_GT(CompareDpkgVersions(c, a), 0);
  // Hand-built structs with characters the parser would refuse must not crash.
  DpkgVersion d{.epoch = 0, .upstream = std::string("1\0a", 3), .revision = "\x80"};
  DpkgVersion e{.epoch = 0, .upstream = "1", .revision = ""};
  int de = CompareDpkgVersions(d, e);
  int ed = CompareDpkgVersions(e, d);
  EXPECT_EQ((de > 0) - (de < 0), -((ed > 0) - (ed < 0)));
}

TEST(CompareDpkgVersionStrings, InvalidStringsSortAfterValidOnesBytewise) {
  EXPECT_EQ(Cmp("99999:9", "1.0_broken"), -1);
  EXPECT_EQ(Cmp("", "0"), 1);
  EXPECT_EQ(Cmp("", ""), 0);
  EXPECT_EQ(Cmp("1.0_a", "1.0_b"), -1);
  EXPECT_EQ(Cmp("1.0_b", "1.0_a"), 1);
  EXPECT_EQ(Cmp("x y", "x y"), 0);

  std::vector<std::string> v = {"1.0_b", "2.0", "", "1:0", "1.0~", "1.0_a", "1.0"};
  std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
    return CompareDpkgVersionStrings(a, b) < 0;
  });
  EXPECT_EQ(v, (std::vector<std::string>{"1.0~", "1.0", "2.0", "1:0", "", "1.0_a", "1.0_b"}));
}

// ------------------------------------------- properties against real dpkg

// Installed package versions, or empty if dpkg-query is unavailable.
std::vector<std::string> InstalledVersions() {
  auto r = RunProcess({"dpkg-query", "-W", "-f=${Version}\n"}, StderrMode::kDiscard);
  std::vector<std::string> out;
  if (!r.has_value() || r->exit_code != 0) return out;
  for (absl::string_view line : absl::StrSplit(r->out, '\n', absl::SkipEmpty())) {
    out.emplace_back(line);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string RandomVersion(std::mt19937& rng) {
  static constexpr std::string_view kAlphabet = "0123456789.~+-:ab";
  // Short strings, weighted towards digits, so collisions and near-misses
  // (equal prefixes, '~' against the end) are frequent.
  std::uniform_int_distribution<int> len(1, 8);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(kAlphabet.size()) + 5);
  std::string s;
  int n = len(rng);
  for (int i = 0; i < n; ++i) {
    int k = pick(rng);
    s += k < static_cast<int>(kAlphabet.size()) ? kAlphabet[k] : static_cast<char>('0' + k % 3);
  }
  return s;
}

TEST(CompareDpkgVersionsOracle, InstalledPackageVersionsAgreeWithDpkg) {
  if (!HaveDpkg()) GTEST_SKIP() << "dpkg binary not available";
  std::vector<std::string> versions = InstalledVersions();
  if (versions.size() < 2) GTEST_SKIP() << "dpkg-query listed fewer than 2 versions";
  for (const std::string& v : versions) {
    EXPECT_TRUE(ParseDpkgVersion(v).ok()) << "installed version rejected: " << v;
  }
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<size_t> pick(0, versions.size() - 1);
  for (int i = 0; i < 400; ++i) {
    const std::string& a = versions[pick(rng)];
    // Every tenth pair shares a prefix with `a`, to reach revision compares.
    std::string b = i % 10 == 0 ? a + (i % 20 == 0 ? "~1" : "+b1") : versions[pick(rng)];
    std::optional<int> want = DpkgCompare(a, b);
    ASSERT_TRUE(want.has_value()) << "dpkg failed on " << a << " vs " << b;
    EXPECT_EQ(Cmp(a, b), *want) << a << " vs " << b;
  }
}

TEST(CompareDpkgVersionsOracle, RandomVersionsAgreeWithDpkg) {
  if (!HaveDpkg()) GTEST_SKIP() << "dpkg binary not available";
  std::mt19937 rng(42);
  std::vector<std::string> valid;
  while (valid.size() < 800) {
    std::string s = RandomVersion(rng);
    if (ParseDpkgVersion(s).ok()) valid.push_back(s);
  }
  for (size_t i = 0; i + 1 < valid.size(); i += 2) {
    // Every fourth pair compares a version against a small mutation of itself.
    std::string b = (i % 8 == 0) ? valid[i] + std::string(1, "~+.a0"[i / 8 % 5]) : valid[i + 1];
    if (!ParseDpkgVersion(b).ok()) b = valid[i + 1];
    std::optional<int> want = DpkgCompare(valid[i], b);
    ASSERT_TRUE(want.has_value()) << "dpkg refused " << valid[i] << " or " << b;
    EXPECT_EQ(Cmp(valid[i], b), *want) << valid[i] << " vs " << b;
  }
}

TEST(CompareDpkgVersionsOracle, WhateverDpkgRefusesTheParserRefuses) {
  if (!HaveDpkg()) GTEST_SKIP() << "dpkg binary not available";
  std::mt19937 rng(7);
  int checked = 0;
  for (int i = 0; i < 150; ++i) {
    std::string s = RandomVersion(rng);
    std::optional<bool> r = DpkgSays(s, "eq", s);
    if (!r.has_value()) {
      EXPECT_FALSE(ParseDpkgVersion(s).ok()) << "dpkg refuses but parser accepts " << s;
      ++checked;
    } else {
      EXPECT_TRUE(*r) << s;
    }
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace steward
