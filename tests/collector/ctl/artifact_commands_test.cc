// stewardctl keys generate / artifact push|list|rm against a real collector,
// with a .deb built by dpkg-deb: the command contract of docs/deployments.md.
#include <sys/stat.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using steward::testing::TempDir;

std::string JsonField(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\": \"");
  if (at == std::string::npos) return "";
  at += key.size() + 5;
  return json.substr(at, json.find('"', at) - at);
}

class ArtifactCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LiveCollector> live = StartCollector(dir_.path() + "/data");
    ASSERT_TRUE(live.ok()) << live.status();
    server_ = std::move(live->server);
    conf_ = live->conf;
    // A real .deb, as a publisher would push.
    absl::StatusOr<std::string> deb = BuildDemoDeb(dir_.path());
    ASSERT_TRUE(deb.ok()) << deb.status();
    deb_ = *deb;
  }

  TempDir dir_;
  std::unique_ptr<collector::CollectorServer> server_;
  std::string conf_, deb_;
};

TEST_F(ArtifactCommandsTest, KeysGenerateWritesBothFilesWithoutACollector) {
  const std::string prefix = dir_.path() + "/publisher";
  CtlResult r = Ctl({"keys", "generate", "--out", prefix, "--json"});  // no config at all
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((prefix + ".pub").c_str(), &st), 0);
  EXPECT_EQ(JsonField(r.out, "public_key"), prefix + ".pub");
  EXPECT_EQ(JsonField(r.out, "key_id").size(), 16u);
  CtlResult again = Ctl({"keys", "generate", "--out", prefix});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("publisher.key exists; choose another --out or pass --force"));
  CtlResult no_out = Ctl({"keys", "generate"});
  EXPECT_EQ(no_out.code, 2);
  EXPECT_THAT(no_out.err, HasSubstr("needs --out PREFIX"));
}

TEST_F(ArtifactCommandsTest, PushListRemoveASignedDeb) {
  const std::string prefix = dir_.path() + "/publisher";
  ASSERT_EQ(Ctl({"keys", "generate", "--out", prefix}).code, 0);
  CtlResult push = Ctl({"artifact", "push", deb_, "--sign-key", prefix + ".key", "--json"}, conf_);
  ASSERT_EQ(push.code, 0) << push.err;
  const std::string sha = JsonField(push.out, "sha256");
  EXPECT_EQ(sha, Sha256OfFile(deb_).value());
  EXPECT_EQ(JsonField(push.out, "name"), "steward-demo");  // from the .deb
  EXPECT_EQ(JsonField(push.out, "version"), "1.2-3");
  EXPECT_EQ(JsonField(push.out, "kind"), "deb");
  EXPECT_THAT(push.out, HasSubstr("\"already_stored\": false"));
  EXPECT_EQ(ReadFile(dir_.path() + "/data/artifacts/blobs/" + sha).value(), ReadFile(deb_).value());

  CtlResult again = Ctl({"artifact", "push", deb_, "--sign-key", prefix + ".key"}, conf_);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, StartsWith("already stored: steward-demo 1.2-3 (deb, "));

  CtlResult list = Ctl({"artifact", "list"}, conf_);
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, StartsWith("SHA256        NAME          VERSION  KIND  SIZE"));
  EXPECT_THAT(list.out, HasSubstr(sha.substr(0, 12) + "  steward-demo  1.2-3    deb"));

  CtlResult rm = Ctl({"artifact", "rm", sha.substr(0, 10)}, conf_);
  ASSERT_EQ(rm.code, 0) << rm.err;
  EXPECT_EQ(rm.out, "artifact " + sha + " removed\n");
  CtlResult empty = Ctl({"--json", "artifact", "list"}, conf_);
  EXPECT_EQ(empty.out, "[]\n");
  CtlResult gone = Ctl({"artifact", "rm", sha}, conf_);
  EXPECT_EQ(gone.code, 1);
  EXPECT_THAT(gone.err, HasSubstr("no artifact with SHA-256 " + sha));
}

// An .rpm names itself too (rpm -qp): NAME and [EPOCH:]VERSION-RELEASE.
TEST_F(ArtifactCommandsTest, AnRpmNamesItself) {
  const std::string top = dir_.path() + "/rpmbuild";
  ASSERT_TRUE(MakeDirs(top + "/SPECS", 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(top + "/SPECS/p.spec",
                              "Name: steward-rpmdemo\nEpoch: 2\nVersion: 1.4\nRelease: 7\nSummary: s\n"
                              "License: MIT\nBuildArch: noarch\n%description\nd\n%files\n")
                  .ok());
  auto built = testing::RunProcess({"rpmbuild", "--define", "_topdir " + top, "--define", "_rpmdir " + dir_.path(),
                                    "-bb", top + "/SPECS/p.spec"},
                                   testing::StderrMode::kMerge);
  ASSERT_TRUE(built.has_value() && built->exit_code == 0) << (built ? built->out : "rpmbuild did not run");
  CtlResult push = Ctl({"artifact", "push", dir_.path() + "/noarch/steward-rpmdemo-1.4-7.noarch.rpm", "--json"}, conf_);
  ASSERT_EQ(push.code, 0) << push.err;
  EXPECT_EQ(JsonField(push.out, "name"), "steward-rpmdemo");
  EXPECT_EQ(JsonField(push.out, "version"), "2:1.4-7");
  EXPECT_EQ(JsonField(push.out, "kind"), "rpm");
}

TEST_F(ArtifactCommandsTest, BadPushesExitWithWhatToDo) {
  const std::string prefix = dir_.path() + "/publisher";
  ASSERT_EQ(Ctl({"keys", "generate", "--out", prefix}).code, 0);
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/notes.txt", "plain file").ok());
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* says;
  };
  const Case cases[] = {
      {{"artifact", "push"}, 2, "'artifact push' needs FILE"},
      {{"artifact", "push", dir_.path() + "/missing.deb"}, 1, "cannot read"},
      {{"artifact", "push", dir_.path() + "/notes.txt"}, 2, "is not a .deb or .rpm: pass --name"},
      {{"artifact", "push", deb_, "--sign-key", prefix + ".pub"}, 2, "not an unencrypted PEM private key"},
      {{"artifact", "push", deb_, "--name", "bad name"}, 2, "name 'bad name' has a character outside"},
      {{"artifact", "rm", "abc"}, 2, "at least 6 of its first digits"},
      {{"artifact", "frobnicate"}, 2, "unknown command"},
  };
  for (const Case& c : cases) {
    CtlResult r = Ctl(c.args, conf_);
    EXPECT_EQ(r.code, c.code) << c.says << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.says));
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // A non-.deb file with a name is fine.
  CtlResult named = Ctl({"artifact", "push", dir_.path() + "/notes.txt", "--name", "notes", "--version", "1"}, conf_);
  EXPECT_EQ(named.code, 0) << named.err;
  EXPECT_THAT(named.out, HasSubstr("stored: notes 1 (file, 10 B)"));
  EXPECT_THAT(named.out, HasSubstr("signed by (unsigned)"));
}

}  // namespace
}  // namespace steward::ctl
