#include "agent/services/unit_list.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string Testdata(const std::string& name) {
  auto text = ReadFile(absl::StrCat(STEWARD_TESTDATA_DIR, "/", name));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

const SystemdUnit* Find(const std::vector<SystemdUnit>& units, const std::string& name) {
  for (const auto& u : units) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

SystemdUnit Unit(std::string name, std::string load, std::string active, std::string sub, std::string desc) {
  return {std::move(name), std::move(load), std::move(active), std::move(sub), std::move(desc), ""};
}

TEST(ListUnits, ParsesACapturedDebian12Listing) {
  ParseReport report;
  auto units = ParseListUnits(Testdata("debian12_list_units.txt"), "list-units", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  ASSERT_THAT(units, SizeIs(35));
  // Sorted by name (byte order: "-.mount" first).
  EXPECT_EQ(units.front().name, "-.mount");
  for (size_t i = 1; i < units.size(); ++i) EXPECT_LT(units[i - 1].name, units[i].name);

  EXPECT_EQ(*Find(units, "nginx.service"),
            Unit("nginx.service", "loaded", "active", "running",
                 "A high performance web server and a reverse proxy server"));
  // The failed unit carries the "●" marker; it is not part of the name.
  EXPECT_EQ(*Find(units, "postgresql@15-main.service"),
            Unit("postgresql@15-main.service", "loaded", "failed", "failed", "PostgreSQL Cluster 15-main"));
  EXPECT_EQ(*Find(units, "exim4.service"), Unit("exim4.service", "not-found", "inactive", "dead", "exim4.service"));
  EXPECT_EQ(*Find(units, "tmp.mount"), Unit("tmp.mount", "not-found", "inactive", "dead", "tmp.mount"));
  EXPECT_EQ(Find(units, "networking.service")->sub_state, "exited");
  EXPECT_EQ(Find(units, "apt-daily.service")->active_state, "inactive");
  EXPECT_EQ(Find(units, "uuidd.socket")->sub_state, "listening");
  EXPECT_EQ(Find(units, "logrotate.timer")->sub_state, "waiting");
  EXPECT_EQ(Find(units, "unattended-upgrades.service")->active_state, "activating");
  // Escaped names stay escaped, exactly as systemctl prints them, even when
  // longer than their column.
  const SystemdUnit* fsck = Find(units, "systemd-fsck@dev-disk-by\\x2duuid-4A1B\\x2d2C3D.service");
  ASSERT_NE(fsck, nullptr);
  EXPECT_EQ(fsck->description, "File System Check on /dev/disk/by-uuid/4A1B-2C3D");
  ASSERT_NE(Find(units, "run-credentials-systemd\\x2dsysctl.service.mount"), nullptr);
  EXPECT_EQ(Find(units, "srv-data\\x2dvolume.mount")->description, "/srv/data-volume");
}

TEST(ListUnits, AcceptsBothMarkersAndAMissingDescription) {
  auto units = ParseListUnits(
      "* crashy.service loaded failed failed Crashy\n"
      "\xE2\x97\x8F  gone.service not-found inactive dead\n"
      "  padded.socket   loaded active listening   Padded   socket  \r\n",
      "t", nullptr);
  EXPECT_THAT(units, ElementsAre(Unit("crashy.service", "loaded", "failed", "failed", "Crashy"),
                                 Unit("gone.service", "not-found", "inactive", "dead", ""),
                                 Unit("padded.socket", "loaded", "active", "listening", "Padded   socket")));
}

TEST(ListUnits, SkipsBrokenLinesNamingThem) {
  ParseReport report;
  auto units = ParseListUnits(
      "ok.service loaded active running Fine\n"
      "truncated.service loaded act\n"                 // line 2: SUB missing
      "nosuffix loaded active running No type\n"       // line 3
      "bad.service LOADED active running Caps\n"       // line 4: not a state word
      "bin.service loaded active running \x01\x02\n"   // line 5: control bytes
      "utf.service loaded active running caf\xC3\n"    // line 6: broken UTF-8
      "\xFF\xFE.service loaded active running x\n"     // line 7: bytes systemd escapes
      "\n"
      "later.timer loaded active waiting Still read\n",
      "systemctl list-units", &report);
  EXPECT_THAT(units, ElementsAre(Unit("later.timer", "loaded", "active", "waiting", "Still read"),
                                 Unit("ok.service", "loaded", "active", "running", "Fine")));
  ASSERT_THAT(report.warnings, SizeIs(6));
  EXPECT_THAT(report.warnings[0], HasSubstr("systemctl list-units line 2: expected UNIT LOAD ACTIVE SUB"));
  EXPECT_THAT(report.warnings[1], HasSubstr("line 3: unit name without a type suffix"));
  EXPECT_THAT(report.warnings[2], HasSubstr("line 4: bad.service: state 'LOADED'"));
  EXPECT_THAT(report.warnings[3], HasSubstr("line 5: bin.service: description is not printable"));
  EXPECT_THAT(report.warnings[4], HasSubstr("line 6: utf.service"));
  EXPECT_THAT(report.warnings[5], HasSubstr("line 7: unit name has a byte systemd escapes"));
}

TEST(ListUnits, BoundsVeryLongLinesAndDuplicates) {
  ParseReport report;
  std::string long_name = std::string(300, 'a') + ".service";
  std::string long_desc(5000, 'd');
  std::string text = absl::StrCat(long_name, " loaded active running x\n", "big.service loaded active running ",
                                  long_desc, "\n", "big.service loaded failed failed Again\n");
  auto units = ParseListUnits(text, "t", &report);
  ASSERT_THAT(units, SizeIs(1));
  EXPECT_EQ(units[0].description.size(), kMaxDescriptionBytes);
  EXPECT_EQ(units[0].active_state, "active");  // the first line wins
  EXPECT_THAT(report.warnings, Contains(HasSubstr("line 1: unit name is longer than 256 bytes")));
  EXPECT_THAT(report.warnings, Contains(HasSubstr("line 2: big.service: description cut to 1024 bytes")));
  EXPECT_THAT(report.warnings, Contains(HasSubstr("1 duplicate unit line(s) ignored")));
}

TEST(ListUnits, CutsLongDescriptionsOnACharacterBoundary) {
  std::string desc;
  while (desc.size() < kMaxDescriptionBytes + 10) desc += "\xC3\xA9";  // é
  auto units = ParseListUnits(absl::StrCat("e.service loaded active running x", desc, "\n"), "t", nullptr);
  ASSERT_THAT(units, SizeIs(1));
  EXPECT_LE(units[0].description.size(), kMaxDescriptionBytes);
  EXPECT_EQ(units[0].description.size() % 2, 1u);  // "x" + whole two-byte characters
}

TEST(ListUnits, SurvivesGarbage) {
  std::string garbage;
  for (int i = 0; i < 20000; ++i) garbage.push_back(static_cast<char>((i * 7919) % 256));
  ParseReport report;
  auto units = ParseListUnits(garbage, "t", &report);
  for (const auto& u : units) EXPECT_FALSE(u.name.empty());
  EXPECT_GT(report.total_warnings(), 0u);
  EXPECT_THAT(ParseListUnits("", "t", &report), IsEmpty());
}

TEST(ListUnitFiles, ParsesStatesWithAndWithoutPreset) {
  ParseReport report;
  auto files = ParseListUnitFiles(Testdata("debian12_list_unit_files.txt"), "list-unit-files", &report);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(files.size(), 27u);
  EXPECT_EQ(files["nginx.service"], "enabled");
  EXPECT_EQ(files["ssh.socket"], "disabled");
  EXPECT_EQ(files["postgresql@.service"], "indirect");
  EXPECT_EQ(files["-.mount"], "generated");

  auto old = ParseListUnitFiles("cron.service enabled\nx.service\nbad.service enabled enabled extra\n", "f", &report);
  EXPECT_EQ(old.size(), 1u);
  EXPECT_EQ(old["cron.service"], "enabled");
  EXPECT_THAT(report.warnings, ElementsAre(HasSubstr("f line 2: expected UNIT-FILE STATE"),
                                           HasSubstr("f line 3: expected UNIT-FILE STATE")));
}

}  // namespace
}  // namespace steward::agent
