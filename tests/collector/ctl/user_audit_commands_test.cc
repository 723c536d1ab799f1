// stewardctl user add|list|rm|rotate and audit [verify] against a real
// collector: the credential file a person gets, what it may do, and what the
// audit shows for people (table) and scripts (JSON).

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

class UserAuditCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<LiveCollector> live = StartCollector(dir_.path() + "/data");
    ASSERT_TRUE(live.ok()) << live.status();
    server_ = std::move(live->server);
    admin_ = live->conf;
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  steward::testing::TempDir dir_;
  std::unique_ptr<collector::CollectorServer> server_;
  std::string admin_;
};

TEST_F(UserAuditCommandsTest, ViewerCredentialFileReadsIsRefusedChangesAndTheAuditShowsIt) {
  const std::string vera = Path("vera.conf");
  CtlResult r = Ctl({"user", "add", "vera", "--role", "viewer", "--out", vera}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("user 'vera' (viewer) added; credential written to " + vera));
  EXPECT_EQ(FileMode(vera), 0600);
  std::string text = ReadFile(vera).value();
  EXPECT_THAT(text, HasSubstr("collector = " + server_->address()));

  r = Ctl({"--config", vera, "hosts"}, "");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"token", "create"}, vera);  // STEWARD_CONFIG works too
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_THAT(r.err, HasSubstr("CreateEnrollmentToken needs role operator; user/vera has role viewer"));
  EXPECT_THAT(r.err, HasSubstr("ask an admin"));
  r = Ctl({"audit"}, vera);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("ListAuditRecords needs role admin"));

  r = Ctl({"user", "list", "--json"}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"name\": \"vera\""));
  EXPECT_THAT(r.out, HasSubstr("\"role\": \"viewer\""));
  EXPECT_THAT(r.out, HasSubstr("\"created_by\": \"admin/admin\""));

  r = Ctl({"audit", "--json"}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\n"));
  EXPECT_THAT(r.out, HasSubstr("\"method\": \"AddUser\""));
  EXPECT_THAT(r.out, HasSubstr("\"target\": \"user:vera\""));
  EXPECT_THAT(r.out, HasSubstr("\"who\": \"user/vera\""));
  EXPECT_THAT(r.out, HasSubstr("\"method\": \"CreateEnrollmentToken\""));
  EXPECT_THAT(r.out, HasSubstr("\"code\": \"PERMISSION_DENIED\""));
  EXPECT_THAT(r.out, HasSubstr("\"refused\": true"));

  r = Ctl({"audit", "--user", "vera", "--since", "1h"}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("SEQ"));
  EXPECT_THAT(r.out, HasSubstr("refused: PERMISSION_DENIED: CreateEnrollmentToken needs role operator"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("AddUser")));  // by admin/admin

  r = Ctl({"audit", "verify"}, admin_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("audit trail intact: 3 records"));
}

TEST_F(UserAuditCommandsTest, AuditTableShowsControlCharactersOfARequestEscaped) {
  CtlResult r = Ctl({"checks", "rm", "evil\x1b[2J\nfake row"}, admin_);
  EXPECT_EQ(r.code, 1);
  r = Ctl({"audit"}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("check:evil\\x1b[2J\\x0afake row"));
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;  // header and one row
}

TEST_F(UserAuditCommandsTest, RotateAndRemoveCutOffTheOldCredentials) {
  const std::string old_conf = Path("otto.conf"), new_conf = Path("otto-new.conf");
  ASSERT_EQ(Ctl({"user", "add", "otto", "--role", "operator", "--out", old_conf}, admin_).code, 0);
  CtlResult r = Ctl({"token", "create"}, old_conf);
  EXPECT_EQ(r.code, 0) << r.err;

  r = Ctl({"user", "rotate", "otto", "--out", old_conf}, admin_);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("exists; pass --force"));
  r = Ctl({"user", "rotate", "otto", "--out", new_conf}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"hosts"}, old_conf);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no longer valid"));
  EXPECT_EQ(Ctl({"hosts"}, new_conf).code, 0);

  r = Ctl({"user", "rm", "otto"}, admin_);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"hosts"}, new_conf);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("user 'otto' does not exist"));
  r = Ctl({"user", "list"}, admin_);
  EXPECT_THAT(r.out, HasSubstr("(no users yet"));
}

TEST_F(UserAuditCommandsTest, UsageMistakesAreRefusedBeforeAnythingIsIssued) {
  CtlResult r = Ctl({"user", "add", "vera", "--out", Path("v.conf")}, admin_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--role viewer|operator|admin"));
  r = Ctl({"user", "add", "vera", "--role", "boss", "--out", Path("v.conf")}, admin_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--role 'boss' must be viewer, operator or admin"));
  r = Ctl({"user", "add", "vera", "--role", "viewer"}, admin_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("needs --out FILE"));
  r = Ctl({"user", "add", "--role", "viewer", "--out", Path("v.conf")}, admin_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("'user add' needs NAME"));
  r = Ctl({"user", "add", "Vera Smith", "--role", "viewer", "--out", Path("v.conf")}, admin_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not valid"));
  r = Ctl({"audit", "verify", "now"}, admin_);
  EXPECT_EQ(r.code, 2);
  r = Ctl({"audit", "--limit", "0"}, admin_);
  EXPECT_EQ(r.code, 2);
  r = Ctl({"user", "frobnicate"}, admin_);
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(FileExists(Path("v.conf")));
  EXPECT_THAT(Ctl({"user", "list"}, admin_).out, HasSubstr("(no users yet"));
}

}  // namespace
}  // namespace steward::ctl
