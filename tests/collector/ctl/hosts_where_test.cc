// `stewardctl hosts --where EXPR` and ListHosts.where against a real
// collector whose store holds three hosts with labels and inventories.
#include <sys/stat.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/collector/ctl/fleet_store.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using ::testing::HasSubstr;
using steward::testing::TempDir;

class HostsWhereTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir((dir_.path() + "/data").c_str(), 0700), 0);
    Populate(dir_.path() + "/data/db",
             {{"agt-web1", "web1", "debian", {{"role", "web"}, {"env", "prod"}}, "dpkg",
               {{"openssl", "3.0.11-1~deb12u2"}, {"nginx", "1.22.1-9"}}},
              {"agt-web2", "web2", "debian", {{"role", "web"}, {"env", "staging"}}, "dpkg",
               {{"openssl", "3.0.13-1~deb12u1"}, {"nginx", "1.22.1-9"}}},
              {"agt-db1", "db1", "rocky", {{"role", "db"}, {"env", "prod"}}, "rpm",
               {{"openssl", "1:1.1.1k-5.el8_5"}, {"postgresql", "13.7-1.el8"}}}});
    absl::StatusOr<LiveCollector> live = StartCollector(dir_.path() + "/data");
    ASSERT_TRUE(live.ok()) << live.status();
    server_ = std::move(live->server);
    conf_ = live->conf;
  }

  // Agent ids of `hosts --json --where expr`, in output order.
  std::vector<std::string> Selected(const std::string& expr) {
    CtlResult r = Ctl({"--json", "hosts", "--where", expr}, conf_);
    EXPECT_EQ(r.code, 0) << expr << ": " << r.err;
    std::vector<std::string> ids;
    for (size_t at = r.out.find("\"agent_id\": \""); at != std::string::npos;
         at = r.out.find("\"agent_id\": \"", at + 1)) {
      size_t begin = at + 13;
      ids.push_back(r.out.substr(begin, r.out.find('"', begin) - begin));
    }
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<collector::CollectorServer> server_;
  std::string conf_;
};

TEST_F(HostsWhereTest, SelectsByEachTermAndCombination) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Selected("label:role=web"), (V{"agt-web1", "agt-web2"}));
  EXPECT_EQ(Selected("os:rocky"), (V{"agt-db1"}));
  EXPECT_EQ(Selected("host:web2 or host:agt-db1"), (V{"agt-db1", "agt-web2"}));
  EXPECT_EQ(Selected("package:nginx"), (V{"agt-web1", "agt-web2"}));
  // dpkg ordering on the Debian hosts, rpm's (epoch 1) on the Rocky one.
  EXPECT_EQ(Selected("package:openssl<3.0.13"), (V{"agt-web1"}));
  EXPECT_EQ(Selected("package:openssl>=1:1.1.1k"), (V{"agt-db1"}));
  EXPECT_EQ(Selected("label:env=prod and not os:rocky"), (V{"agt-web1"}));
  EXPECT_EQ(Selected("(label:role=db or package:openssl<3.0.13) and label:env=prod"),
            (V{"agt-db1", "agt-web1"}));
  EXPECT_EQ(Selected("label:role=cache"), V{});
}

TEST_F(HostsWhereTest, TableSaysWhatMatchedOrThatNothingDid) {
  CtlResult r = Ctl({"hosts", "--where", "label:role=web AND package:openssl<3.0.13"}, conf_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("agt-web1"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("agt-web2")));
  r = Ctl({"hosts", "--where", "os:windows"}, conf_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(no host matches os:windows)"));
}

TEST_F(HostsWhereTest, MalformedExpressionExits2WithACaretUnderThePosition) {
  CtlResult r = Ctl({"hosts", "--where", "label:role=web andd os:debian"}, conf_);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "error: target expression, position 16: expected 'and', 'or' or the end of the expression, "
            "found 'andd'\n"
            "  label:role=web andd os:debian\n"
            "                 ^\n");
  EXPECT_TRUE(r.out.empty());
}

// The collector checks the expression itself (other clients than stewardctl).
TEST_F(HostsWhereTest, CollectorRefusesAMalformedExpression) {
  auto cred = LoadAdminCredential(conf_);
  ASSERT_TRUE(cred.ok()) << cred.status();
  auto stub = MakeAdminStub(*cred);
  v1::ListHostsRequest req;
  req.set_where("(os:debian");
  v1::ListHostsResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub->ListHosts(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "target expression, position 11: expected ')' to close the '(' at position 1, found the end of the "
            "expression");
  grpc::ClientContext ok_ctx;
  req.set_where("OS:debian   and label:env=prod");
  st = stub->ListHosts(&ok_ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.where(), "os:debian and label:env=prod");
  ASSERT_EQ(resp.hosts_size(), 1);
  EXPECT_EQ(resp.hosts(0).agent_id(), "agt-web1");
}

}  // namespace
}  // namespace steward::ctl
