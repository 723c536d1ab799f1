// The query flags of `software`, `changes` and `health` (name globs,
// --source, --state), stale health results, and the collector's warnings on
// `deploy create --dry-run`, through stewardctl against a real collector
// whose store holds a small fleet (hosts that are not connected).
#include <sys/stat.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/collector/ctl/fleet_store.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using steward::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

HostSpec Host(std::string id, std::string hostname, std::string source,
              std::vector<std::pair<std::string, std::string>> packages) {
  HostSpec h;
  h.id = std::move(id);
  h.hostname = std::move(hostname);
  h.os_id = "debian";
  h.labels = {{"role", "web"}};
  h.source = std::move(source);
  h.packages = std::move(packages);
  return h;
}

class QueryFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir((dir_.path() + "/data").c_str(), 0700), 0);
    HostSpec web1 = Host("agt-web1", "web1", "dpkg",
                         {{"openssl", "3.0.11-1"}, {"libssl3", "3.0.11-1"}, {"nginx", "1.22"}});
    web1.upgrade_first_to = "3.0.13-1";
    web1.checks = {{"http-main", true}, {"tcp-db", false}};
    HostSpec app1 = Host("agt-app1", "app1", "pip", {{"Django", "4.2.1"}, {"requests", "2.31.0"}});
    app1.checks = {{"http-main", false}};
    HostSpec web2 =
        Host("agt-web2", "web2", "dpkg", {{"openssl", "3.0.13-1"}, {"Django-dpkg", "1"}});
    Populate(dir_.path() + "/data/db", {web1, app1, web2});
    absl::StatusOr<LiveCollector> live = StartCollector(dir_.path() + "/data");
    ASSERT_TRUE(live.ok()) << live.status();
    server_ = std::move(live->server);
    conf_ = live->conf;
  }

  // `name` values of a JSON listing.
  std::vector<std::string> Names(const std::vector<std::string>& args,
                                 const std::string& key = "name") {
    CtlResult r = Ctl(args, conf_);
    EXPECT_EQ(r.code, 0) << r.err;
    return JsonStrings(r.out, key);
  }

  TempDir dir_;
  std::unique_ptr<collector::CollectorServer> server_;
  std::string conf_;
};

TEST_F(QueryFlagsTest, SoftwareNameIsAGlobFoldedForPipAndNpmOnly) {
  EXPECT_THAT(Names({"software", "--name", "*ssl*", "--json"}),
              UnorderedElementsAre("openssl", "libssl3", "openssl"));
  EXPECT_THAT(Names({"software", "--name", "openssl", "--host", "web1", "--json"}),
              ElementsAre("openssl"));
  // pip names ignore case; dpkg names do not.
  EXPECT_THAT(Names({"software", "--name", "DJANGO", "--json"}), ElementsAre("Django"));
  EXPECT_THAT(Names({"software", "--name", "django*", "--json"}), ElementsAre("Django"));
  EXPECT_THAT(Names({"software", "--name", "Django*", "--json"}),
              UnorderedElementsAre("Django", "Django-dpkg"));
  EXPECT_THAT(Names({"software", "--name", "OPENSSL", "--json"}), IsEmpty());
  CtlResult r = Ctl({"software", "--name", "[abc"}, conf_);
  EXPECT_EQ(r.code, 2);  // the collector's INVALID_ARGUMENT: the request was wrong
  EXPECT_THAT(r.err, HasSubstr("[abc"));
}

TEST_F(QueryFlagsTest, SoftwareSourceSelectsOneInventorySourceAndRefusesOthers) {
  EXPECT_THAT(Names({"software", "--source", "pip", "--json"}),
              UnorderedElementsAre("Django", "requests"));
  EXPECT_THAT(Names({"software", "--source", "dpkg", "--name", "django*", "--json"}), IsEmpty());
  EXPECT_THAT(Names({"software", "--source", "rpm", "--json"}), IsEmpty());
  CtlResult r = Ctl({"software", "--source", "pyp"}, conf_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--source 'pyp' must be dpkg, rpm, pip, npm, snap or flatpak"));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(QueryFlagsTest, ChangesNameAndSource) {
  // web1's openssl was upgraded (fleet_store's second snapshot).
  EXPECT_THAT(Names({"changes", "--since", "1h", "--name", "open*", "--json"}),
              ElementsAre("openssl"));
  EXPECT_THAT(Names({"changes", "--since", "1h", "--name", "nginx", "--json"}), IsEmpty());
  EXPECT_THAT(Names({"changes", "--since", "1h", "--source", "dpkg", "--json"}),
              ElementsAre("openssl"));
  EXPECT_THAT(Names({"changes", "--since", "1h", "--source", "pip", "--json"}), IsEmpty());
  CtlResult r = Ctl({"changes", "--since", "1h", "--name", "openssl", "--source", "dpkg"}, conf_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("3.0.11-1"));
  EXPECT_THAT(r.out, HasSubstr("3.0.13-1"));
}

TEST_F(QueryFlagsTest, HealthStateNameAndStaleResults) {
  EXPECT_THAT(Names({"health", "--state", "down", "--json"}, "check"),
              UnorderedElementsAre("tcp-db", "http-main"));
  EXPECT_THAT(Names({"health", "--state", "ok", "--json"}, "check"), ElementsAre("http-main"));
  EXPECT_THAT(Names({"health", "--state", "down", "--name", "http*", "--json"}, "hostname"),
              ElementsAre("app1"));
  EXPECT_THAT(Names({"health", "--name", "tcp-*", "--json"}, "hostname"), ElementsAre("web1"));
  // None of these hosts is connected: every result is stale, and says why.
  CtlResult r = Ctl({"health", "--state", "stale", "--json"}, conf_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(JsonStrings(r.out, "check").size(), 3u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"stale\": true"));
  EXPECT_THAT(r.out, Not(HasSubstr("\"stale\": false")));
  EXPECT_THAT(JsonStrings(r.out, "stale_reason"),
              ::testing::Each(HasSubstr("host offline since ")));
  r = Ctl({"health", "--host", "web1"}, conf_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("down (stale)"));
  EXPECT_THAT(r.out, HasSubstr("ok (stale)"));
  EXPECT_THAT(r.out, HasSubstr("stale: web1: host offline since "));
  r = Ctl({"health", "--state", "failed"}, conf_);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--state 'failed' must be ok, degraded, down, unknown or stale"));
  r = Ctl({"health", "--name", "nothing-like-it"}, conf_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(no check results match)"));
}

TEST_F(QueryFlagsTest, DryRunOfAnUnsignedArtifactForOfflineHostsWarnsOnStderr) {
  absl::StatusOr<std::string> deb = BuildDemoDeb(dir_.path());
  ASSERT_TRUE(deb.ok()) << deb.status();
  CtlResult pushed = Ctl({"artifact", "push", *deb, "--json"}, conf_);
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  const std::string sha = JsonStrings(pushed.out, "sha256").at(0);
  CtlResult r = Ctl(
      {"deploy", "create", "--artifact", sha, "--target", "label:role=web", "--dry-run", "--json"},
      conf_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("warning: artifact steward-demo 1.2-3"));
  EXPECT_THAT(r.err, HasSubstr("is unsigned"));
  EXPECT_THAT(r.err, HasSubstr("warning: 3 hosts offline"));
  EXPECT_EQ(r.out.front(), '{') << "stdout stays JSON: " << r.out;
}

}  // namespace
}  // namespace steward::ctl
