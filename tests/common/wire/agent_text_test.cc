#include "common/wire/agent_text.h"

#include <random>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "steward/v1/agent.pb.h"

namespace steward {
namespace {

v1::InventorySnapshot SnapshotWithItem(const std::string& name, const std::string& vendor) {
  v1::InventorySnapshot snap;
  v1::SoftwareItem* item = snap.add_items();
  item->set_source("pip");
  item->set_name(name);
  item->set_vendor(vendor);
  return snap;
}

TEST(CheckAgentText, AcceptsPrintableUtf8) {
  v1::InventorySnapshot snap = SnapshotWithItem("requests", "Kenneth Reitz, Zoë, 张伟");
  snap.mutable_facts()->set_hostname("web-01.example.org");
  EXPECT_TRUE(CheckAgentText(snap).ok());
}

TEST(CheckAgentText, RefusesTerminalEscapesNamingTheField) {
  v1::InventorySnapshot snap;
  snap.mutable_facts()->set_hostname("web\x1b[2J\x1b[1;1Hfake row");
  absl::Status s = CheckAgentText(snap);
  ASSERT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_TRUE(absl::StrContains(s.message(), "facts.hostname")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "control character at byte 3")) << s;
}

TEST(CheckAgentText, RefusesInvalidUtf8C1ControlsAndBidiOverrides) {
  EXPECT_TRUE(absl::StrContains(CheckAgentText(SnapshotWithItem("x", "Jos\xe9")).message(),
                                "items[0].vendor has a byte that is not UTF-8"));
  EXPECT_TRUE(absl::StrContains(CheckAgentText(SnapshotWithItem("x\xc2\x9b" "2J", "")).message(),
                                "items[0].name has a control character"));
  EXPECT_TRUE(absl::StrContains(CheckAgentText(SnapshotWithItem("evil\xe2\x80\xae" "gpj.exe", "")).message(),
                                "bidirectional"));
  EXPECT_FALSE(CheckAgentText(SnapshotWithItem("del\x7f", "")).ok());
}

TEST(CheckAgentText, EnforcesLengthLimitsPerField) {
  v1::InventorySnapshot snap = SnapshotWithItem("x", std::string(1025, 'v'));
  absl::Status s = CheckAgentText(snap);
  EXPECT_TRUE(absl::StrContains(s.message(), "items[0].vendor: 1025 bytes; the limit is 1024")) << s;
  snap = SnapshotWithItem("x", std::string(1024, 'v'));
  EXPECT_TRUE(CheckAgentText(snap).ok());
  snap.mutable_items(0)->set_status(std::string(257, 's'));
  EXPECT_TRUE(absl::StrContains(CheckAgentText(snap).message(), "status: 257 bytes; the limit is 256"));
  snap.mutable_items(0)->clear_status();
  snap.mutable_facts()->set_hostname(std::string(20 << 20, 'h'));  // the review's 20 MiB hostname
  EXPECT_TRUE(absl::StrContains(CheckAgentText(snap).message(), "facts.hostname: 20971520 bytes; the limit is 255"));
}

TEST(CheckAgentText, JobOutputMayHaveNewlinesButNotEscapes) {
  v1::Envelope env;
  env.mutable_job_result()->set_output("Unpacking hello (2.10-3) ...\r\nSetting up hello\tdone\n");
  EXPECT_TRUE(CheckAgentText(env).ok());
  env.mutable_job_result()->set_output("ok\x1b]0;pwned\x07");
  EXPECT_TRUE(absl::StrContains(CheckAgentText(env).message(), "job_result.output has a control character"));
  env.mutable_job_result()->set_output("");
  env.mutable_job_result()->set_job_id("a\nb");  // single-line fields stay single-line
  EXPECT_FALSE(CheckAgentText(env).ok());
}

TEST(CheckAgentText, BoundsRepeatedFields) {
  v1::HostFacts facts;
  for (int i = 0; i < kDefaultRepeated + 1; ++i) facts.add_disks();
  absl::Status s = CheckAgentText(facts);
  EXPECT_TRUE(absl::StrContains(s.message(), "disks: 1025 entries; the limit is 1024")) << s;
}

TEST(SanitizeAgentText, MakesEverythingPassTheCheck) {
  v1::InventorySnapshot snap = SnapshotWithItem("bad\x1b[31mname", "Jos\xe9 M\xfcller");
  snap.mutable_facts()->set_hostname(std::string(300, 'h') + "\xff");
  for (int i = 0; i < kDefaultRepeated + 5; ++i) snap.mutable_facts()->add_disks()->set_name("sda");
  EXPECT_EQ(SanitizeAgentText(&snap), 4u);
  EXPECT_TRUE(CheckAgentText(snap).ok()) << CheckAgentText(snap);
  EXPECT_EQ(snap.items(0).vendor(), "Jos\xEF\xBF\xBD M\xEF\xBF\xBDller");
  EXPECT_EQ(snap.items(0).name(), "bad\xEF\xBF\xBD[31mname");
  EXPECT_EQ(snap.facts().hostname(), std::string(255, 'h'));
  EXPECT_EQ(snap.facts().disks_size(), kDefaultRepeated);
  // The sanitized message survives a round trip (it did not with the Latin-1 byte).
  v1::InventorySnapshot back;
  ASSERT_TRUE(back.ParseFromString(snap.SerializeAsString()));
  EXPECT_EQ(SanitizeAgentText(&back), 0u);
}

TEST(SanitizeAgentText, CutsAtACharacterBoundary) {
  v1::HostFacts facts;
  facts.set_hostname(std::string(254, 'a') + "\xc3\xa9");  // 256 bytes, the last character 2 bytes
  SanitizeAgentText(&facts);
  EXPECT_EQ(facts.hostname(), std::string(254, 'a'));
}

TEST(SanitizeAgentText, RandomBytesAlwaysEndValid) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 400, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    v1::Envelope env;
    env.mutable_job_result()->set_output(s);
    env.mutable_job_result()->set_message(s);
    env.mutable_inventory_snapshot()->mutable_facts()->set_kernel(s);
    SanitizeAgentText(&env);
    ASSERT_TRUE(CheckAgentText(env).ok()) << round;
  }
}

TEST(EscapeForDisplay, ShowsControlsAndBadBytesAsEscapes) {
  EXPECT_EQ(EscapeForDisplay("plain text é"), "plain text é");
  EXPECT_EQ(EscapeForDisplay("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(EscapeForDisplay("line\nnext"), "line\\x0anext");
  EXPECT_EQ(EscapeForDisplay("Jos\xe9"), "Jos\\xe9");
  EXPECT_EQ(EscapeForDisplay("c1\xc2\x9b"), "c1\\u009b");
  EXPECT_EQ(EscapeForDisplay("rlo\xe2\x80\xae"), "rlo\\u202e");
  EXPECT_TRUE(IsDisplaySafe(EscapeForDisplay("\x01\x02\xff\xc2\x85")));
  // Messages of several lines keep their lines, not their escapes.
  EXPECT_EQ(EscapeForDisplay("error: x\n  ^\x1b[2J", /*multiline=*/true), "error: x\n  ^\\x1b[2J");
}

}  // namespace
}  // namespace steward
