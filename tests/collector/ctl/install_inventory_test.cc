// stewardctl install's inventory: plain [USER@]HOST[:PORT] lines and
// Ansible INI files, and what is refused with which line.
#include "collector/ctl/install_inventory.h"

#include "gtest/gtest.h"

namespace steward::ctl {
namespace {

TEST(InstallInventory, PlainLines) {
  auto t = ParseInventory(
      "# web tier\n"
      "root@web1.example.org\n"
      "web2:2222   # behind a NAT\n"
      "\n"
      "admin@10.0.0.7:22\n"
      "[2001:db8::5]:2200\n"
      "ops@[::1]\n"
      "fe80::1\n"
      "web2:2222\n");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 6u);  // web2:2222 once
  EXPECT_EQ((*t)[0].user, "root");
  EXPECT_EQ((*t)[0].host, "web1.example.org");
  EXPECT_EQ((*t)[0].port, 0);
  EXPECT_EQ((*t)[1].host, "web2");
  EXPECT_EQ((*t)[1].port, 2222);
  EXPECT_EQ((*t)[1].name, "web2:2222");
  EXPECT_EQ((*t)[2].user, "admin");
  EXPECT_EQ((*t)[2].port, 22);
  EXPECT_EQ((*t)[3].host, "2001:db8::5");
  EXPECT_EQ((*t)[3].port, 2200);
  EXPECT_EQ((*t)[4].user, "ops");
  EXPECT_EQ((*t)[4].host, "::1");
  EXPECT_EQ((*t)[5].host, "fe80::1");
  EXPECT_EQ(SshTargetArgs((*t)[1]), (std::vector<std::string>{"-p", "2222", "web2"}));
  EXPECT_EQ(SshTargetArgs((*t)[2]), (std::vector<std::string>{"-p", "22", "-l", "admin", "10.0.0.7"}));
}

TEST(InstallInventory, AnsibleIni) {
  auto t = ParseInventory(
      "[web]\n"
      "web1 ansible_host=10.0.0.1 ansible_user=deploy\n"
      "web2 ansible_host=10.0.0.2 ansible_port=2222 ansible_ssh_private_key_file='/keys/web key'\n"
      "; a comment\n"
      "[db]\n"
      "db1.example.org\n"
      "[all:vars]\n"
      "ansible_user=root\n"
      "ansible_ssh_common_args='-o StrictHostKeyChecking=no'\n"
      "[db:vars]\n"
      "ansible_port=2200\n"
      "[prod:children]\n"
      "web\n"
      "db\n");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].name, "web1");
  EXPECT_EQ((*t)[0].host, "10.0.0.1");
  EXPECT_EQ((*t)[0].user, "deploy");  // the host's own var beats [all:vars]
  EXPECT_EQ((*t)[1].port, 2222);
  EXPECT_EQ((*t)[1].identity_file, "/keys/web key");
  EXPECT_EQ((*t)[1].user, "root");
  EXPECT_EQ((*t)[2].host, "db1.example.org");
  EXPECT_EQ((*t)[2].port, 2200);
  EXPECT_EQ((*t)[2].user, "root");
}

TEST(InstallInventory, BrokenInputNamesTheLine) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "no machine"},
      {"# only a comment\n\n", "no machine"},
      {"web1\nweb2:99999\n", "line 2: port '99999'"},
      {"web1:\n", "line 1: port ''"},
      {"web1:22x\n", "port '22x'"},
      {"-oProxyCommand=evil\n", "line 1: '-oProxyCommand=evil' is not a host"},
      {"-lroot@host\n", "is not a user name"},
      {"bad user@host\n", "is not [USER@]HOST[:PORT]"},
      {"[::1\n", "'[' without ']'"},
      {"[::1]x\n", "expected ':PORT'"},
      {"ho$t\n", "is not a host name"},
      {"[web]\nweb1 ansible_port=abc\n", "line 2: port 'abc'"},
      {"[web]\nweb1 ansible_user='x\n", "unclosed quote"},
      {"[web]\nweb1 justaword\n", "'justaword' is not key=value"},
      {"[web]\nweb1 ansible_host=-oProxyCommand=x\n", "is not a host"},
      {"[web]\nweb1 ansible_ssh_private_key_file=-x\n", "bad private key file"},
  };
  for (const Case& c : cases) {
    auto t = ParseInventory(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(std::string(t.status().message()).find(c.says), std::string::npos)
        << c.text << " -> " << t.status().message();
  }
  EXPECT_FALSE(ParseInventory(std::string("web1\0x", 6)).ok());
}

}  // namespace
}  // namespace steward::ctl
