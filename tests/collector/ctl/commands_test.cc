#include "collector/ctl/commands.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/table.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "common/tls/pki.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/testing/temp_dir.h"

namespace steward::ctl {
namespace {

using steward::testing::TempDir;

// A syntactically valid admin.conf whose collector is a closed local port.
class CtlWithConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateSelfSignedCa("test CA", absl::Hours(1));
    ASSERT_TRUE(ca.ok()) << ca.status();
    auto client = IssueClientCert(*ca, "admin/test", absl::Hours(1));
    ASSERT_TRUE(client.ok()) << client.status();
    ca_ = new KeyAndCert(*ca);
    client_ = new KeyAndCert(*client);
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete client_;
  }

  std::string WriteConfig(const std::string& collector) {
    std::string path = dir_.path() + "/admin.conf";
    std::string text =
        absl::StrCat("collector = ", collector, "\nca_data = ", absl::Base64Escape(ca_->cert_pem),
                     "\ncert_data = ", absl::Base64Escape(client_->cert_pem),
                     "\nkey_data = ", absl::Base64Escape(client_->key_pem), "\n");
    EXPECT_TRUE(WriteFileAtomic(path, text, 0600).ok());
    return path;
  }

  TempDir dir_;
  static KeyAndCert* ca_;
  static KeyAndCert* client_;
};
KeyAndCert* CtlWithConfigTest::ca_ = nullptr;
KeyAndCert* CtlWithConfigTest::client_ = nullptr;

// --- usage errors ---

TEST(RunStewardctl, NoCommandPrintsUsageToStderrAndExits2) {
  CtlResult r = Ctl({});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(absl::StartsWith(r.err, "usage: stewardctl")) << r.err;
  // Flags alone are not a command either.
  r = Ctl({"--json", "--config", "/x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "usage: stewardctl")) << r.err;
}

TEST(RunStewardctl, HelpPrintsUsageToStdoutAndExits0) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"help"}, {"-h"}}) {
    CtlResult r = Ctl(args);
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_TRUE(absl::StartsWith(r.out, "usage: stewardctl")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "token create")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "deploy create")) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}

TEST(RunStewardctl, EachCommandHasItsOwnHelp) {
  // help NOUN, NOUN --help and NOUN alone list the noun's commands.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"help", "deploy"}, {"deploy", "--help"}, {"deploy"}, {"deploy", "-h"}}) {
    CtlResult r = Ctl(args);
    EXPECT_EQ(r.code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.out, "usage: stewardctl deploy COMMAND")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "deploy create")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "deploy retry ID")) << r.out;
    EXPECT_FALSE(absl::StrContains(r.out, "token create")) << r.out;
  }
  // A command's help: its flags with value kinds and defaults, an example.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"help", "deploy", "create"}, {"deploy", "create", "--help"}, {"deploy", "create", "-h"},
           {"--json", "deploy", "create", "--target", "x", "--help"}}) {
    CtlResult r = Ctl(args);
    EXPECT_EQ(r.code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.out, "usage: stewardctl deploy create [flags]\n")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "\n  --target EXPR ")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "\n  --health-gate DURATION ")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "(default 5m)")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "\n  --on-failure pause|abort ")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "\nExample:\n  stewardctl deploy create ")) << r.out;
    EXPECT_FALSE(absl::StrContains(r.out, "\n  --where")) << r.out;
  }
  CtlResult r = Ctl({"help", "deploy", "creat"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "no command 'deploy creat'; did you mean 'deploy create'?")) << r.err;
}

TEST(RunStewardctl, UnknownCommandExits2NamingIt) {
  CtlResult r = Ctl({"--config", "/nonexistent/admin.conf", "frobnicate", "now"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "error: unknown command 'frobnicate now'\nsee 'stewardctl help'\n");
  EXPECT_TRUE(r.out.empty());
  // A typo gets a suggestion and two lines, not the whole usage.
  r = Ctl({"deploy", "creat", "--target", "x"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "error: unknown command 'deploy creat'; did you mean 'deploy create'?\n"
                   "see 'stewardctl deploy --help'\n");
  r = Ctl({"hosts", "disabel", "web1"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: unknown command 'hosts disabel'; did you mean 'hosts disable'?"))
      << r.err;
  r = Ctl({"sofware"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: unknown command 'sofware'; did you mean 'software'?")) << r.err;
  // A noun with a command's flag but no command.
  r = Ctl({"token", "--ttl", "1h"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: 'token' needs a command: create, list or revoke")) << r.err;
}

TEST(RunStewardctl, AFlagTheCommandDoesNotDeclareIsRefused) {
  // The defects that started the command table: each flag was silently
  // ignored by a command that does not take it.
  struct Case {
    std::vector<std::string> args;
    std::string command;
  };
  const Case cases[] = {
      {{"deploy", "create", "--target", "label:role=web", "--host", "web1", "--dry-run"}, "deploy create"},
      {{"changes", "--since", "1h", "--state", "failed"}, "changes"},
      {{"token", "create", "--name", "x"}, "token create"},
      {{"job", "run", "--host", "web1", "--target", "x"}, "job run"},
      {{"hosts", "--metric", "cpu"}, "hosts"},
      {{"deploy", "list", "--watch"}, "deploy list"},
  };
  for (const Case& c : cases) {
    CtlResult r = Ctl(c.args, "/nonexistent/admin.conf");
    EXPECT_EQ(r.code, 2) << absl::StrJoin(c.args, " ");
    EXPECT_TRUE(absl::StartsWith(r.err, "error: unknown flag --")) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "for '" + c.command + "'")) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "'" + c.command + "' takes ")) << r.err;
    EXPECT_TRUE(absl::EndsWith(r.err, "\nsee 'stewardctl " + c.command + " --help'\n")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  CtlResult r = Ctl({"deploy", "create", "--tagret", "x"}, "/nonexistent/admin.conf");
  EXPECT_TRUE(absl::StrContains(r.err, "unknown flag --tagret for 'deploy create'; did you mean --target?")) << r.err;
  r = Ctl({"deploy", "create", "--dry"}, "/nonexistent/admin.conf");
  EXPECT_TRUE(absl::StrContains(r.err, "did you mean --dry-run?")) << r.err;
  // A value of a checked kind, with a suggestion.
  r = Ctl({"changes", "--cause", "jbo"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: --cause 'jbo' must be job or other; did you mean job?")) << r.err;
  // One value per single-valued flag: the second is not silently kept.
  r = Ctl({"software", "--host", "a", "--host", "b"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--host was given twice ('a' and 'b')")) << r.err;
}

TEST(RunStewardctl, UnknownFlagExits2NamingIt) {
  CtlResult r = Ctl({"hosts", "--colour", "red"}, "/nonexistent/admin.conf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: unknown flag --colour for 'hosts' ('hosts' takes --where --pending)")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(RunStewardctl, FlagWithoutValueExits2NamingIt) {
  CtlResult r = Ctl({"hosts", "--config"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "--config needs a value")) << r.err;
}

TEST(RunStewardctl, MissingConfigAndEmptyEnvExits2) {
  CtlResult r = Ctl({"hosts"}, "");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "no admin credential")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "STEWARD_CONFIG")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(RunStewardctl, MissingConfigFileExits1NamingThePath) {
  CtlResult r = Ctl({"hosts", "--config", "/nonexistent-dir/admin.conf"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "/nonexistent-dir/admin.conf")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "does not exist")) << r.err;
}

TEST(RunStewardctl, ConfigFlagWinsOverEnvironment) {
  CtlResult r = Ctl({"hosts", "--config=/flag/admin.conf"}, "/env/admin.conf");
  EXPECT_TRUE(absl::StrContains(r.err, "/flag/admin.conf")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "/env/admin.conf")) << r.err;
  r = Ctl({"hosts"}, "/env/admin.conf");
  EXPECT_TRUE(absl::StrContains(r.err, "/env/admin.conf")) << r.err;
}

TEST_F(CtlWithConfigTest, BadLocalArgumentsExit2BeforeAnyCall) {
  std::string conf = WriteConfig("127.0.0.1:1");
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const Case cases[] = {
      {{"token", "create", "--ttl", "soon"}, "invalid duration 'soon'"},
      {{"token", "create", "--ttl", "500ms"}, "--ttl must be at least 1s"},
      {{"token", "create", "--uses", "0"}, "--uses '0' must be a whole number >= 1"},
      {{"token", "create", "--uses", "two"}, "--uses 'two'"},
      {{"token", "create", "--label", "novalue"}, "--label 'novalue' must look like key=value"},
      {{"token", "create", "--label", "=v"}, "--label '=v'"},
      {{"metrics"}, "metrics needs --metric NAME"},
      {{"metrics", "--list"}, "metrics --list needs --host HOST"},
      {{"metrics", "--host", "abc"}, "metrics needs --metric NAME"},
      // Only = and =~ on __name__ name the metrics a query reads.
      {{"metrics", "--match", "__name__!~cpu_.*"},
       "metrics needs --metric NAME or --match '__name__=~REGEX'"},
      {{"metrics", "--match", "host=~cpu_.*"},
       "metrics needs --metric NAME or --match '__name__=~REGEX'"},
      {{"metrics", "--metric", "m", "--match", "cpu"}, "--match 'cpu' must look like label=value"},
      {{"metrics", "--metric", "m", "--match", "=x"}, "--match '=x'"},
      {{"metrics", "--metric", "m", "--top", "0"}, "--top '0' must be a whole number above 0"},
      {{"metrics", "--metric", "m", "--step", "often"}, "invalid duration 'often'"},
      {{"metrics", "--host", "abc", "--metric", "m", "--since", "-5m"}, "invalid duration '-5m'"},
      {{"hosts", "--timeout", "forever"}, "invalid duration 'forever'"},
      {{"deploy", "status"}, "'deploy status' needs ID"},
      {{"deploy", "pause", "d-1", "d-2"}, "'deploy pause' takes ID; unexpected argument 'd-2'"},
      {{"deploy", "list", "d-1"}, "unexpected argument 'd-1' after 'deploy list'"},
      {{"deploy", "create", "--target", "label:a=b"}, "deploy create needs --artifact SHA256"},
      {{"deploy", "create", "--artifact", "abcdef12", "--package", "demo=1", "--target", "x"}, "not both"},
      {{"deploy", "create", "--artifact", "abcdef12"}, "deploy create needs --target EXPR"},
      {{"deploy", "create", "--artifact", "abcdef12", "--target", "x", "--error-threshold", "150%"},
       "--error-threshold '150%' must be a percentage from 0% to 100%"},
      {{"deploy", "create", "--artifact", "abcdef12", "--target", "x", "--on-failure", "panic"},
       "--on-failure 'panic' must be pause or abort"},
      {{"deploy", "create", "--artifact", "abcdef12", "--target", "x", "--health-gate", "soon"}, "--health-gate: "},
      {{"deploy", "create", "--artifact", "abcdef12", "--target", "x", "--deadline", "0s"},
       "--deadline '0s' must be a duration"},
      {{"deploy", "create", "--artifact", "abcdef12", "--target", "x", "--max-parallel", "many"},
       "--max-parallel 'many' is not a count"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = c.args;
    args.push_back("--config");
    args.push_back(conf);
    CtlResult r = Ctl(args);
    EXPECT_EQ(r.code, 2) << c.want << ": " << r.err;
    EXPECT_TRUE(absl::StartsWith(r.err, "error: ")) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, c.want)) << "want '" << c.want << "' in: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST_F(CtlWithConfigTest, UnreachableCollectorExits1WithHint) {
  std::string conf = WriteConfig("127.0.0.1:1");
  CtlResult r = Ctl({"hosts", "--timeout", "5s", "--config", conf});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "cannot reach the collector at 127.0.0.1:1")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

// --- against a real collector ---

TEST_F(CtlWithConfigTest, ACredentialOfAnotherCollectorIsAHandshakeFailureNotUnreachable) {
  // A running collector, and an admin.conf of another CA pointed at it.
  TempDir dir;
  absl::StatusOr<LiveCollector> live = StartCollector(dir.path() + "/data");
  ASSERT_TRUE(live.ok()) << live.status();
  absl::StatusOr<AdminCredential> real = LoadAdminCredential(live->conf);
  ASSERT_TRUE(real.ok()) << real.status();
  CtlResult r = Ctl({"hosts", "--config", WriteConfig(real->collector)});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "failed the TLS handshake")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "is this admin.conf from this collector's data directory?")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, "cannot reach")) << r.err;
}

TEST(RunStewardctlLive, TokenCreateHostsAndMetricsAgainstARealCollector) {
  TempDir dir;
  absl::StatusOr<LiveCollector> live = StartCollector(dir.path() + "/data");
  ASSERT_TRUE(live.ok()) << live.status();
  const std::string conf = live->conf;

  CtlResult hosts = Ctl({"hosts"}, conf);
  EXPECT_EQ(hosts.code, 0) << hosts.err;
  EXPECT_EQ(hosts.out,
            "AGENT ID  HOSTNAME  OS  AGENT  LAST SEEN  CONNECTED  PACKAGES  LABELS\n"
            "(no hosts enrolled yet: create a token with 'stewardctl token create')\n");

  CtlResult json_hosts = Ctl({"--json", "hosts"}, conf);
  EXPECT_EQ(json_hosts.code, 0) << json_hosts.err;
  EXPECT_EQ(json_hosts.out, "[]\n");

  CtlResult token = Ctl({"token", "create", "--uses", "2", "--label", "env=prod"}, conf);
  EXPECT_EQ(token.code, 0) << token.err;
  // The token alone on one line: <16 hex>.<64 hex>.
  ASSERT_EQ(token.out.size(), 16u + 1u + 64u + 1u) << token.out;
  EXPECT_EQ(token.out[16], '.');
  EXPECT_EQ(token.out.back(), '\n');
  EXPECT_EQ(token.out.find_first_not_of("0123456789abcdef.\n"), std::string::npos) << token.out;

  CtlResult json_token = Ctl({"token", "create", "--json", "--ttl", "2h"}, conf);
  EXPECT_EQ(json_token.code, 0) << json_token.err;
  EXPECT_TRUE(absl::StartsWith(json_token.out, "{\n  \"token\": \"")) << json_token.out;
  EXPECT_TRUE(absl::StrContains(json_token.out, "\n  \"token_id\": \"")) << json_token.out;
  EXPECT_TRUE(absl::StrContains(json_token.out, "\n  \"expires\": \"20")) << json_token.out;
  EXPECT_TRUE(absl::EndsWith(json_token.out, "Z\"\n}\n")) << json_token.out;

  CtlResult unknown_host = Ctl({"metrics", "--host", "nobody", "--list"}, conf);
  EXPECT_EQ(unknown_host.code, 1);
  EXPECT_TRUE(absl::StrContains(unknown_host.err, "no host 'nobody'")) << unknown_host.err;

  // Metrics named by a `__name__` matcher instead of --metric: accepted by
  // stewardctl and the collector (no series yet).
  CtlResult by_name =
      Ctl({"metrics", "--match", "__name__=~cpu_(user|system)", "--agg", "max", "--by", "__name__"},
          conf);
  EXPECT_EQ(by_name.code, 0) << by_name.err;
  EXPECT_EQ(by_name.out, "METRIC  GROUP  TIME  VALUE\n(no samples match)\n");
  CtlResult by_name_json = Ctl({"--json", "metrics", "--match", "__name__=cpu_user"}, conf);
  EXPECT_EQ(by_name_json.code, 0) << by_name_json.err;
  EXPECT_EQ(by_name_json.out, "[]\n");

  CtlResult software = Ctl({"software"}, conf);
  EXPECT_EQ(software.code, 0) << software.err;
  EXPECT_EQ(software.out,
            "HOSTNAME  AGENT ID  SOURCE  NAME  VERSION  ARCH\n(no software matches)\n");
}

// --- LoadAdminCredential ---

class LoadAdminCredentialTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, text, 0600).ok());
    return path;
  }
  static std::string Pem(const std::string& kind, const std::string& body) {
    return absl::StrCat("-----BEGIN ", kind, "-----\n", body, "\n-----END ", kind, "-----\n");
  }
  // A real CA and admin key pair (LoadAdminCredential parses them and
  // checks the key against the certificate), and another CA.
  static KeyAndCert NewCa(const std::string& name) { return CreateSelfSignedCa(name, absl::Hours(1)).value(); }
  const KeyAndCert ca_ = NewCa("test ca");
  const KeyAndCert other_ca_ = NewCa("other ca");
  const KeyAndCert admin_ = IssueClientCert(ca_, "admin/admin", absl::Hours(1)).value();
  const std::string ca = ca_.cert_pem, cert = admin_.cert_pem, key = admin_.key_pem;
  TempDir dir_;
};

TEST_F(LoadAdminCredentialTest, MissingFileIsNotFoundNamingThePath) {
  std::string path = dir_.path() + "/absent.conf";
  auto c = LoadAdminCredential(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(), path)) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "admin.conf")) << c.status();
}

TEST_F(LoadAdminCredentialTest, LoadsEmbeddedData) {
  std::string path =
      Write("admin.conf",
            absl::StrCat("# comment\ncollector = [::1]:7443\nca_data = ", absl::Base64Escape(ca),
                         "\ncert_data = ", absl::Base64Escape(cert),
                         "\nkey_data = ", absl::Base64Escape(key), "\n"));
  auto c = LoadAdminCredential(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->collector, "[::1]:7443");
  EXPECT_EQ(c->ca_pem, ca);
  EXPECT_EQ(c->cert_pem, cert);
  EXPECT_EQ(c->key_pem, key);
}

TEST_F(LoadAdminCredentialTest, MissingCollectorIsInvalidArgument) {
  std::string path = Write(
      "admin.conf", absl::StrCat("ca_data = ", absl::Base64Escape(Pem("CERTIFICATE", "x")), "\n"));
  auto c = LoadAdminCredential(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(c.status().message(), path + ": missing 'collector")) << c.status();
  // An empty value counts as missing.
  path = Write("admin2.conf", "collector =\n");
  c = LoadAdminCredential(path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "missing 'collector")) << c.status();
}

TEST_F(LoadAdminCredentialTest, BadBase64IsInvalidArgumentNamingTheKey) {
  std::string good = absl::Base64Escape(Pem("CERTIFICATE", "x"));
  struct Case {
    std::string text, want;
  };
  const Case cases[] = {
      {"ca_data = !!!not base64!!!\n", "ca_data is not base64 of a PEM block"},
      {absl::StrCat("ca_data = ", absl::Base64Escape("just text, no PEM"), "\n"),
       "ca_data is not base64"},
      {absl::StrCat("ca_data = ", good, "\ncert_data = ", good, "\nkey_data = a\n"),
       "key_data is not base64"},
      {absl::StrCat("ca_data = ", good, "\n"), "missing cert_data or cert_file"},
      {absl::StrCat("ca_data = ", good, "\ncert_data = ", good, "\n"),
       "missing key_data or key_file"},
      {"", "missing ca_data or ca_file"},
  };
  for (const auto& c : cases) {
    std::string path = Write("admin.conf", "collector = h:1\n" + c.text);
    auto cred = LoadAdminCredential(path);
    ASSERT_FALSE(cred.ok()) << c.want;
    EXPECT_EQ(cred.status().code(), absl::StatusCode::kInvalidArgument) << cred.status();
    EXPECT_TRUE(absl::StrContains(cred.status().message(), path + ": ")) << cred.status();
    EXPECT_TRUE(absl::StrContains(cred.status().message(), c.want))
        << "want '" << c.want << "' in " << cred.status();
  }
}

TEST_F(LoadAdminCredentialTest, SyntaxErrorNamesFileAndLine) {
  std::string path = Write("admin.conf", "collector = h:1\nthis line is broken\n");
  auto c = LoadAdminCredential(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(c.status().message(), path + " line 2")) << c.status();
}

TEST_F(LoadAdminCredentialTest, ResolvesRelativeFilesAgainstTheConfigDirectory) {
  ASSERT_TRUE(MakeDirs(dir_.path() + "/etc/pki").ok());
  Write("etc/pki/ca.pem", ca);
  Write("etc/admin.crt", cert);
  std::string abs_key = Write("abs.key", key);
  std::string path = Write("etc/admin.conf", absl::StrCat("collector = h:1\nca_file = pki/ca.pem\n"
                                                          "cert_file = admin.crt\nkey_file = ",
                                                          abs_key, "\n"));
  auto c = LoadAdminCredential(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_pem, ca);
  EXPECT_EQ(c->cert_pem, cert);
  EXPECT_EQ(c->key_pem, key);
}

TEST_F(LoadAdminCredentialTest, MissingReferencedFileIsNotFoundNamingResolvedPath) {
  std::string path = Write("admin.conf", "collector = h:1\nca_file = missing-ca.pem\n");
  auto c = LoadAdminCredential(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(), dir_.path() + "/missing-ca.pem"))
      << c.status();
}

TEST_F(LoadAdminCredentialTest, RelativeConfigPathResolvesFilesAgainstCurrentDirectory) {
  Write("ca.pem", ca);
  Write("admin.conf", absl::StrCat("collector = h:1\nca_file = ca.pem\ncert_data = ",
                                   absl::Base64Escape(cert), "\nkey_data = ", absl::Base64Escape(key), "\n"));
  char old_cwd[4096];
  ASSERT_NE(::getcwd(old_cwd, sizeof old_cwd), nullptr);
  ASSERT_EQ(::chdir(dir_.path().c_str()), 0);
  auto c = LoadAdminCredential("admin.conf");
  ASSERT_EQ(::chdir(old_cwd), 0);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_pem, ca);
}

TEST_F(LoadAdminCredentialTest, DataWinsOverFile) {
  std::string embedded = ca;
  Write("ca.pem", other_ca_.cert_pem);
  Write("admin.crt", cert);
  Write("admin.key", key);
  std::string path = Write(
      "admin.conf",
      absl::StrCat("collector = h:1\nca_file = ca.pem\nca_data = ", absl::Base64Escape(embedded),
                   "\ncert_file = admin.crt\n", "key_file = admin.key\n"));
  auto c = LoadAdminCredential(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_pem, embedded);
}

// --- Table ---

TEST(Table, RendersLeftAlignedColumnsTwoSpacesApart) {
  Table t({"ID", "HOSTNAME", "OS"});
  t.AddRow({"a1", "web-1.example.org", "Debian GNU/Linux 12"});
  t.AddRow({"agent-10", "db", "Ubuntu"});
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Render(),
            "ID        HOSTNAME           OS\n"
            "a1        web-1.example.org  Debian GNU/Linux 12\n"
            "agent-10  db                 Ubuntu\n");
}

TEST(Table, TrimsTrailingSpacesAndPadsShortRows) {
  Table t({"A", "B", "C"});
  t.AddRow({"x", "", ""});
  t.AddRow({"", "yy"});
  t.AddRow({"1", "2", "3", "ignored extra cell"});
  EXPECT_EQ(t.Render(),
            "A  B   C\n"
            "x\n"
            "   yy\n"
            "1  2   3\n");
}

TEST(Table, HeaderOnlyWhenEmpty) {
  Table t({"NAME", "VALUE"});
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.Render(), "NAME  VALUE\n");
}

}  // namespace
}  // namespace steward::ctl
