#include "agent/inventory/inventory_scanner.h"

#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/inventory/sources.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A scripted source: fingerprint and result set by the test.
class FakeSource : public InventorySource {
 public:
  explicit FakeSource(std::string name) : name_(std::move(name)) {}
  absl::string_view name() const override { return name_; }
  std::string Fingerprint() override { return fingerprint; }
  absl::StatusOr<std::vector<Package>> Scan(ParseReport*) override {
    ++scans;
    return result;
  }

  std::string fingerprint;
  absl::StatusOr<std::vector<Package>> result = std::vector<Package>();
  int scans = 0;

 private:
  std::string name_;
};

Package Pkg(std::string name, std::string version, std::string location = "") {
  Package p;
  p.name = std::move(name);
  p.version = std::move(version);
  p.location = std::move(location);
  return p;
}

TEST(InventoryScanner, RescansOnlyChangedSourcesAndMerges) {
  auto a = std::make_unique<FakeSource>("b-src");
  auto b = std::make_unique<FakeSource>("a-src");
  FakeSource* fa = a.get();
  FakeSource* fb = b.get();
  fa->fingerprint = "1";
  fa->result = std::vector<Package>{Pkg("z", "1"), Pkg("y", "1", "/l2"), Pkg("y", "1", "/l1")};
  fb->result = std::vector<Package>{Pkg("q", "2")};
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(std::move(a));
  sources.push_back(std::move(b));
  InventoryScanner scanner(std::move(sources));

  ParseReport report;
  auto first = scanner.ScanIfChanged(false, &report);
  ASSERT_TRUE(first.has_value());
  std::vector<std::string> keys;
  for (const Package& p : *first) keys.push_back(absl::StrCat(p.source, ":", p.name, p.location));
  EXPECT_THAT(keys, ElementsAre("a-src:q", "b-src:y/l1", "b-src:y/l2", "b-src:z"));
  EXPECT_EQ(scanner.last_stats()[0].items, 3u);
  EXPECT_TRUE(scanner.last_stats()[0].scanned);

  EXPECT_EQ(scanner.ScanIfChanged(false, &report), std::nullopt);
  EXPECT_EQ(fa->scans, 1);
  EXPECT_FALSE(scanner.last_stats()[0].scanned);

  fb->fingerprint = "changed";
  fb->result = std::vector<Package>{Pkg("q", "3")};
  auto third = scanner.ScanIfChanged(false, &report);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ((*third)[0].version, "3");
  EXPECT_EQ(fa->scans, 1);
  EXPECT_EQ(fb->scans, 2);

  EXPECT_TRUE(scanner.ScanIfChanged(true, &report).has_value());  // Forced.
  EXPECT_EQ(fa->scans, 2);
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(InventoryScanner, FailedSourceKeepsLastResultAndRetries) {
  auto a = std::make_unique<FakeSource>("s");
  FakeSource* fa = a.get();
  fa->result = std::vector<Package>{Pkg("p", "1"), Pkg("p", "2")};  // Duplicate key.
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(std::move(a));
  InventoryScanner scanner(std::move(sources));
  ParseReport report;
  auto first = scanner.ScanIfChanged(false, &report);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].version, "1");
  EXPECT_THAT(report.warnings,
              ElementsAre("s package 'p' (, ) reported twice, version '2' dropped"));

  fa->fingerprint = "x";
  fa->result = absl::UnavailableError("database locked");
  ParseReport r2;
  EXPECT_EQ(scanner.ScanIfChanged(false, &r2), std::nullopt);
  EXPECT_THAT(r2.warnings, ElementsAre("inventory source s failed (database locked), keeping its "
                                       "last result"));
  EXPECT_FALSE(scanner.last_stats()[0].status.ok());
  fa->result = std::vector<Package>{Pkg("p", "9")};
  auto again = scanner.ScanIfChanged(false, nullptr);  // Same fingerprint, but retried.
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)[0].version, "9");
}

TEST(InventoryScanner, FakeRootTouchTriggersRescan) {
  testing::TempDir dir;
  dir.Write("var/lib/dpkg/status",
            "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n");
  dir.Write("usr/lib/node_modules/npm/package.json", R"({"name":"npm","version":"10.0.0"})");
  dir.Write("usr/lib/python3/dist-packages/six-1.16.0.egg-info", "Name: six\nVersion: 1.16.0\n");
  InventoryOptions opt;
  opt.root = dir.path();
  InventoryScanner scanner(MakeInventorySources(opt));
  auto first = scanner.ScanIfChanged(false, nullptr);
  ASSERT_TRUE(first.has_value());
  std::vector<std::string> got;
  for (const Package& p : *first)
    got.push_back(absl::StrCat(p.source, " ", p.name, " ", p.version));
  EXPECT_THAT(got, ElementsAre("dpkg a 1", "npm npm 10.0.0", "pip six 1.16.0"));
  EXPECT_EQ(scanner.ScanIfChanged(false, nullptr), std::nullopt);
  // A rewrite of the status file (dpkg replaces it), with a different size.
  dir.Write("var/lib/dpkg/status",
            "Package: a\nStatus: install ok installed\nVersion: 1.1\nArchitecture: amd64\n");
  auto second = scanner.ScanIfChanged(false, nullptr);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ((*second)[0].version, "1.1");
  std::vector<std::string> names;
  for (const auto& s : scanner.last_stats()) names.push_back(s.name);
  EXPECT_THAT(names, ElementsAre("dpkg", "rpm", "pip", "npm", "snap", "flatpak"));
}

// Not a check: prints how long each source takes on this machine (the
// figure docs/benchmarks quotes), then checks that an unchanged rescan is
// cheap.
TEST(InventoryScannerBenchmark, ThisMachine) {
  InventoryScanner scanner(MakeInventorySources(InventoryOptions{}));
  ParseReport report;
  absl::Time start = absl::Now();
  auto all = scanner.ScanIfChanged(true, &report);
  absl::Duration full = absl::Now() - start;
  ASSERT_TRUE(all.has_value());
  for (const auto& s : scanner.last_stats()) {
    std::printf("  %-8s %6zu items %9.2f ms %s\n", s.name.c_str(), s.items,
                absl::ToDoubleMilliseconds(s.scan_time), s.status.ok() ? "" : "FAILED");
  }
  start = absl::Now();
  auto unchanged = scanner.ScanIfChanged(false, &report);
  absl::Duration cheap = absl::Now() - start;
  std::printf("full scan: %zu items in %.2f ms; unchanged check: %.3f ms; %zu warnings\n",
              all->size(), absl::ToDoubleMilliseconds(full), absl::ToDoubleMilliseconds(cheap),
              report.total_warnings());
  for (const std::string& w : report.warnings) std::printf("  warning: %s\n", w.c_str());
  EXPECT_EQ(unchanged, std::nullopt);
}

}  // namespace
}  // namespace steward::agent
