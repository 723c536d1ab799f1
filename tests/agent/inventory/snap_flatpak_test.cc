// Tests of the snap and flatpak sources (both read mounted/deployed trees).
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/inventory/flatpak_source.h"
#include "agent/inventory/snap_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Captured from /snap/core22/current/meta/snap.yaml (revision 1380).
constexpr char kCore22Yaml[] = R"(name: core22
version: '20240408'
summary: Runtime environment based on Ubuntu 22.04
description: |
  The base snap based on the Ubuntu 22.04 release.
  name: not-this
grade: stable
confinement: strict
type: base
architectures:
- amd64
)";

TEST(SnapYamlParser, ReadsCapturedYaml) {
  ParseReport report;
  auto y = ParseSnapYaml(kCore22Yaml, "snap.yaml", &report);
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(*y, (SnapYaml{"core22", "20240408", "amd64"}));
  EXPECT_THAT(report.warnings, IsEmpty());
}

TEST(SnapYamlParser, FlowListsQuotesComments) {
  auto y = ParseSnapYaml(
      "name: \"lxd\"\r\nversion: 5.21.1-2d13beb # lts\r\narchitectures: [arm64, amd64]\r\n", "y",
      nullptr);
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(*y, (SnapYaml{"lxd", "5.21.1-2d13beb", "arm64"}));
  y = ParseSnapYaml("version: 1\nname: hello\n", "y", nullptr);
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(*y, (SnapYaml{"hello", "1", ""}));
}

TEST(SnapYamlParser, SkipsBrokenYaml) {
  ParseReport report;
  EXPECT_FALSE(ParseSnapYaml("name: x\n", "a", &report));
  EXPECT_FALSE(ParseSnapYaml("  name: x\n  version: 1\n", "b", &report));
  EXPECT_FALSE(ParseSnapYaml(std::string("name: x\0y\nversion: 1\n", 20), "c", &report));
  EXPECT_FALSE(ParseSnapYaml("name: ''\nversion: 1\n", "d", &report));
  EXPECT_THAT(
      report.warnings,
      ElementsAre("a: snap 'x' has no usable version, skipped", "b: no usable name, snap skipped",
                  "c: no usable name, snap skipped", "d: no usable name, snap skipped"));
}

TEST(SnapSource, ScansFakeRootExactly) {
  testing::TempDir dir;
  dir.Write("snap/core22/1380/meta/snap.yaml", kCore22Yaml);
  dir.Write("snap/core22/1122/meta/snap.yaml", "name: core22\nversion: '20231123'\n");
  std::filesystem::create_symlink("1380", dir.path() + "/snap/core22/current");
  dir.Write("var/lib/snapd/snaps/core22_1380.snap", std::string(4096, 'x'));
  dir.Write("snap/hello_beta/x1/meta/snap.yaml", "name: hello\nversion: 2.10\n");
  std::filesystem::create_symlink("x1", dir.path() + "/snap/hello_beta/current");
  // Not mounted: `current` dangles.
  std::filesystem::create_directories(dir.path() + "/snap/firefox");
  std::filesystem::create_symlink("4173", dir.path() + "/snap/firefox/current");
  dir.Write("snap/broken/1/meta/snap.yaml", "\x01\x02 garbage");
  std::filesystem::create_symlink("1", dir.path() + "/snap/broken/current");
  dir.Write("snap/README", "This directory presents installed snap packages.\n");
  std::filesystem::create_directories(dir.path() + "/snap/bin");

  InventoryOptions opt;
  opt.root = dir.path();
  SnapSource source(opt);
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  Package core;
  core.source = "snap";
  core.name = "core22";
  core.version = "20240408";
  core.arch = "amd64";
  core.status = "revision 1380";
  core.size_bytes = 4096;
  core.install_time_unix = (*got)[0].install_time_unix;
  EXPECT_GT(core.install_time_unix, 0);
  EXPECT_EQ((*got)[0], core);
  EXPECT_EQ((*got)[1].name, "hello_beta");
  EXPECT_EQ((*got)[1].version, "2.10");
  EXPECT_EQ((*got)[1].status, "revision x1");
  EXPECT_EQ((*got)[1].install_time_unix, 0);
  ASSERT_EQ(report.warnings.size(), 2u);
  EXPECT_EQ(report.warnings[0],
            "/snap/broken/current/meta/snap.yaml: no usable name, snap skipped");
  EXPECT_THAT(report.warnings[1],
              ::testing::StartsWith("/snap/firefox/current/meta/snap.yaml: cannot read ("));

  std::string before = source.Fingerprint();
  EXPECT_EQ(source.Fingerprint(), before);
  std::filesystem::remove(dir.path() + "/snap/core22/current");
  std::filesystem::create_symlink("1122", dir.path() + "/snap/core22/current");
  EXPECT_NE(source.Fingerprint(), before);  // A refresh or revert.
}

TEST(SnapSource, AbsentIsEmpty) {
  testing::TempDir dir;
  InventoryOptions opt;
  opt.root = dir.path();
  SnapSource source(opt);
  EXPECT_EQ(source.Fingerprint(), "");
  auto got = source.Scan(nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, IsEmpty());
}

// Head of org.mozilla.firefox.metainfo.xml as flathub deploys it.
constexpr char kFirefoxMetainfo[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- <release version="0.0-comment"/> -->
<component type="desktop-application">
  <id>org.mozilla.firefox</id>
  <releases>
    <release version="126.0.1" date="2024-05-28"/>
    <release version="126.0" date="2024-05-14"/>
  </releases>
</component>
)";

TEST(MetainfoParser, FirstReleaseVersion) {
  EXPECT_EQ(ParseMetainfoReleaseVersion(kFirefoxMetainfo), "126.0.1");
  EXPECT_EQ(ParseMetainfoReleaseVersion("<releases><release\n  date='x' version = '1.2'>"), "1.2");
  EXPECT_EQ(ParseMetainfoReleaseVersion("<releases/><release date=\"x\"/><release version=\"2\"/>"),
            std::nullopt);
  EXPECT_EQ(ParseMetainfoReleaseVersion("<release xversion=\"3\"/>"), std::nullopt);
  EXPECT_EQ(ParseMetainfoReleaseVersion("<release version=\"4"), std::nullopt);
  EXPECT_EQ(ParseMetainfoReleaseVersion("<release version="), std::nullopt);
  EXPECT_EQ(ParseMetainfoReleaseVersion("<!-- <release version=\"5\"/>"), std::nullopt);
  EXPECT_EQ(ParseMetainfoReleaseVersion(""), std::nullopt);
}

TEST(FlatpakSource, ScansFakeRootExactly) {
  testing::TempDir dir;
  const std::string app = "var/lib/flatpak/app/org.mozilla.firefox/x86_64/stable/";
  const std::string commit = "5d1a8c3e0f2b4a6c8e0f2b4a6c8e0f2b4a6c8e0f2b4a6c8e0f2b4a6c8e0f2b4a";
  dir.Write(app + commit + "/files/share/metainfo/org.mozilla.firefox.metainfo.xml",
            kFirefoxMetainfo);
  dir.Write(app + commit + "/metadata", "[Application]\nname=org.mozilla.firefox\n");
  std::filesystem::create_symlink(commit, dir.path() + "/" + app + "active");
  const std::string rt = "var/lib/flatpak/runtime/org.freedesktop.Platform/x86_64/";
  for (const char* branch : {"22.08", "23.08"}) {
    const std::string c = std::string(branch) == "22.08" ? "aaaabbbbccccdddd" : "eeeeffff00001111";
    dir.Write(rt + branch + "/" + c + "/metadata", "[Runtime]\n");
    std::filesystem::create_symlink(c, dir.path() + "/" + rt + branch + "/active");
  }
  std::filesystem::create_directories(dir.path() + "/" + rt + "24.08");  // No active link.
  std::filesystem::create_directories(dir.path() +
                                      "/var/lib/flatpak/app/org.gone.App/x86_64/stable");
  std::filesystem::create_symlink(
      "deadbeef", dir.path() + "/var/lib/flatpak/app/org.gone.App/x86_64/stable/active");

  InventoryOptions opt;
  opt.root = dir.path();
  FlatpakSource source(opt);
  ParseReport report;
  auto got = source.Scan(&report);
  ASSERT_TRUE(got.ok());
  std::vector<std::string> summary;
  for (const Package& p : *got) {
    EXPECT_GT(p.install_time_unix, 0);
    summary.push_back(
        absl::StrCat(p.status, " ", p.name, " ", p.arch, " ", p.version, " ", p.location));
  }
  EXPECT_THAT(
      summary,
      ElementsAre("app org.mozilla.firefox x86_64 126.0.1 /" + app.substr(0, app.size() - 1),
                  "runtime org.freedesktop.Platform x86_64 22.08-aaaabbbbcccc /" + rt + "22.08",
                  "runtime org.freedesktop.Platform x86_64 23.08-eeeeffff0000 /" + rt + "23.08"));
  EXPECT_THAT(report.warnings,
              ElementsAre("/var/lib/flatpak/app/org.gone.App/x86_64/stable/active: not a link to a "
                          "deployed commit, skipped"));
  std::string before = source.Fingerprint();
  EXPECT_EQ(source.Fingerprint(), before);
  std::filesystem::create_symlink("x", dir.path() + "/" + rt + "24.08/active");
  EXPECT_NE(source.Fingerprint(), before);

  InventoryOptions none;
  none.root = dir.path() + "/nothing";
  EXPECT_EQ(FlatpakSource(none).Fingerprint(), "");
  EXPECT_THAT(*FlatpakSource(none).Scan(nullptr), IsEmpty());
}

}  // namespace
}  // namespace steward::agent
