#include "agent/inventory/npm_source.h"

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/inventory/package_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Head of /usr/lib/node_modules/corepack/package.json (node 20 image).
constexpr char kCorepack[] = R"({
  "name": "corepack",
  "version": "0.34.6",
  "homepage": "https://github.com/nodejs/corepack#readme",
  "bugs": {
    "url": "https://github.com/nodejs/corepack/issues"
  },
  "engines": {
    "node": "^20.10.0 || ^22.11.0 || >=24.0.0"
  },
  "exports": {"./package.json": "./package.json"},
  "license": "MIT",
  "bin": {"corepack": "./dist/corepack.js", "pnpm": "./dist/pnpm.js"},
  "keywords": [1, -2.5e+3, true, false, null, [], {}],
  "dependencies": {"name": "not-this", "version": "nor-this"}
}
)";

TEST(PackageJsonParser, ReadsTopLevelNameAndVersionOnly) {
  ParseReport report;
  auto p = ParsePackageJson(kCorepack, "package.json", &report);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (PackageJson{"corepack", "0.34.6"}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(PackageJsonParser, DecodesEscapesAndBom) {
  auto p = ParsePackageJson(
      "\xEF\xBB\xBF{\"name\":\"@scope\\/"
      "caf\\u00e9\\ud83d\\ude00\",\"version\":\"1.0.0\",\"name\":\"x\"}",
      "pj", nullptr);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->name, "@scope/caf\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(p->version, "1.0.0");
  p = ParsePackageJson(R"({"name": 5, "version": "2"})", "pj", nullptr);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (PackageJson{"", "2"}));
}

TEST(PackageJsonParser, RejectsBrokenJson) {
  ParseReport report;
  EXPECT_FALSE(ParsePackageJson(R"({"name": "a", "version": "1")", "truncated", &report));
  EXPECT_FALSE(ParsePackageJson(R"(["name"])", "array", &report));
  EXPECT_FALSE(ParsePackageJson(R"({"name": "a",})", "comma", &report));
  EXPECT_FALSE(ParsePackageJson("{\"name\": \"a\nb\"}", "ctl", &report));
  EXPECT_FALSE(ParsePackageJson(R"({"a": 01})", "num", &report));
  EXPECT_FALSE(ParsePackageJson(R"({} x)", "trail", &report));
  EXPECT_FALSE(ParsePackageJson(std::string(1000, '['), "deep", &report));
  EXPECT_FALSE(ParsePackageJson(std::string("{\"a\":") + std::string(300, '['), "deep2", &report));
  EXPECT_FALSE(ParsePackageJson(R"({"a": "\x"})", "esc", &report));
  EXPECT_FALSE(ParsePackageJson("", "empty", &report));
  EXPECT_THAT(report.warnings,
              ElementsAre("truncated: invalid JSON at byte 28: expected ',' or '}', skipped",
                          "array: invalid JSON at byte 0: top level is not an object, skipped",
                          "comma: invalid JSON at byte 13: expected a member name, skipped",
                          "ctl: invalid JSON at byte 12: control character in a string, skipped",
                          "num: invalid JSON at byte 7: expected ',' or '}', skipped",
                          "trail: invalid JSON at byte 3: trailing data after the top-level "
                          "object, skipped",
                          "deep: invalid JSON at byte 0: top level is not an object, skipped",
                          "deep2: invalid JSON at byte 204: nesting too deep, skipped",
                          "esc: invalid JSON at byte 9: invalid escape, skipped",
                          "empty: invalid JSON at byte 0: top level is not an object, skipped"));
}

TEST(NpmSource, ScansFakeRootExactly) {
  testing::TempDir dir;
  dir.Write("usr/lib/node_modules/corepack/package.json", kCorepack);
  dir.Write("usr/lib/node_modules/npm/package.json", R"({"version":"11.19.1","name":"npm"})");
  dir.Write("usr/lib/node_modules/@angular/cli/package.json",
            R"({"name":"@angular/cli","version":"17.3.0"})");
  dir.Write("usr/lib/node_modules/@angular/.staging/x", "");
  dir.Write("usr/lib/node_modules/.bin/npm", "");
  dir.Write("usr/lib/node_modules/.package-lock.json", "{}");
  dir.Write("usr/lib/node_modules/broken/package.json", R"({"name": "broken", "vers)");
  dir.Write("usr/lib/node_modules/noversion/package.json", R"({"name": "noversion"})");
  dir.Write("usr/lib/node_modules/nameless/package.json", R"({"version": "0.1.0"})");
  dir.Write("usr/lib/node_modules/nojson/index.js", "");
  dir.Write("usr/lib/node_modules/stray-file", "");
  std::filesystem::create_symlink("/nonexistent/pkg",
                                  dir.path() + "/usr/lib/node_modules/dangling");
  dir.Write("usr/local/lib/node_modules/yarn/package.json",
            R"({"name":"yarn","version":"1.22.22"})");
  InventoryOptions opt;
  opt.root = dir.path();
  NpmSource source(opt);
  EXPECT_THAT(source.NodeModulesDirs(),
              ElementsAre("/usr/lib/node_modules", "/usr/local/lib/node_modules"));
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok());
  std::vector<std::string> summary;
  for (const Package& p : *got) {
    EXPECT_EQ(p.source, "npm");
    EXPECT_GT(p.install_time_unix, 0);
    summary.push_back(absl::StrCat(p.location, " ", p.name, " ", p.version));
  }
  EXPECT_THAT(
      summary,
      ElementsAre("/usr/lib/node_modules @angular/cli 17.3.0",
                  "/usr/lib/node_modules corepack 0.34.6", "/usr/lib/node_modules nameless 0.1.0",
                  "/usr/lib/node_modules npm 11.19.1", "/usr/local/lib/node_modules yarn 1.22.22"));
  EXPECT_THAT(report.warnings,
              ElementsAre("/usr/lib/node_modules/broken/package.json: invalid JSON at byte 24: "
                          "unterminated string, skipped",
                          "/usr/lib/node_modules/nojson/package.json: missing, package skipped",
                          "/usr/lib/node_modules/noversion/package.json: no \"version\", "
                          "package skipped"));
  // Fingerprint: an upgrade rewrites package.json.
  std::string before = source.Fingerprint();
  EXPECT_EQ(source.Fingerprint(), before);
  dir.Write("usr/local/lib/node_modules/yarn/package.json",
            R"({"name":"yarn","version":"1.22.23"})");
  EXPECT_NE(source.Fingerprint(), before);
}

TEST(NpmSource, AbsentIsEmpty) {
  testing::TempDir dir;
  InventoryOptions opt;
  opt.root = dir.path();
  NpmSource source(opt);
  EXPECT_EQ(source.Fingerprint(), "");
  auto got = source.Scan(nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, IsEmpty());
}

// Oracle: `npm ls -g --json --depth=0` on this machine.
TEST(NpmSourceOracle, MatchesNpmLsGlobal) {
  auto root = testing::RunProcess({"npm", "root", "-g"}, testing::StderrMode::kDiscard);
  if (!root.has_value() || root->exit_code != 0) GTEST_SKIP() << "npm is not installed";
  std::string global_root = root->out.substr(0, root->out.find('\n'));
  // The oracle's JSON is decoded by Python's json module, one "NAME VERSION"
  // line per dependency.
  auto r = testing::RunShell(
      "npm ls -g --json --depth=0 2>/dev/null | python3 -c 'import json,sys\n"
      "for k, v in json.load(sys.stdin).get(\"dependencies\", {}).items(): "
      "print(k, v.get(\"version\", \"\"))'");
  ASSERT_TRUE(r.has_value() && r->exit_code == 0) << "npm ls or python3 failed";
  std::map<std::string, std::string> want;
  for (absl::string_view l : absl::StrSplit(r->out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(l, ' ');
    ASSERT_EQ(kv.size(), 2u) << l;
    want[kv[0]] = kv[1];
  }
  InventoryOptions opt;
  opt.npm_roots = {global_root};
  ParseReport report;
  auto got = NpmSource(opt).Scan(&report);
  ASSERT_TRUE(got.ok());
  std::map<std::string, std::string> have;
  for (const Package& p : *got) {
    if (p.location == global_root) have[p.name] = p.version;
  }
  EXPECT_EQ(have, want);
  EXPECT_THAT(report.warnings, IsEmpty());
  std::printf("npm: %zu global packages in %s, npm ls %zu\n", have.size(), global_root.c_str(),
              want.size());
}

}  // namespace
}  // namespace steward::agent
