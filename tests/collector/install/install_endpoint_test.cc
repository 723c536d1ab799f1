// The collector's agent install endpoints over real HTTPS, fetched with
// curl as install-agent.sh fetches them: the CA and its fingerprint, the
// token checks, the package index and download, what an attacker gets, and
// the downloads noted for `hosts --pending`. Also install-agent.sh's own
// refusals that happen before it changes anything.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "agent/session/identity.h"
#include "collector/service/collector_server.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/collector/ctl/ctl_harness.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using ctl::Ctl;
using ctl::JsonStrings;
using testing::RunProcess;
using testing::StderrMode;

std::string BuildAgentDeb(const std::string& work, const std::string& dir, const std::string& package,
                          const std::string& version, const std::string& arch) {
  auto deb = ctl::BuildStandInDeb(work, dir, package, version, arch);
  EXPECT_TRUE(deb.ok()) << deb.status();
  return deb.value_or("");
}

struct Fetched {
  int code = 0;  // HTTP status, 0 when curl failed
  std::string body;
  std::string headers;
};

class InstallEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    packages_ = dir_.path() + "/packages";
    ASSERT_TRUE(MakeDirs(packages_, 0755).ok());
    old_deb_ = BuildAgentDeb(dir_.path(), packages_, "steward-agent", "0.9.0", "amd64");
    new_deb_ = BuildAgentDeb(dir_.path(), packages_, "steward-agent", "0.10.0", "amd64");
    arm_deb_ = BuildAgentDeb(dir_.path(), packages_, "steward-agent", "0.10.0", "arm64");
    BuildAgentDeb(dir_.path(), packages_, "not-the-agent", "9.9", "amd64");
    ASSERT_TRUE(WriteFileAtomic(packages_ + "/garbage.deb", "not a package").ok());

    CollectorOptions opts;
    opts.data_dir = dir_.path() + "/data";
    opts.listen = "127.0.0.1:0";
    opts.http_listen = "127.0.0.1:0";
    opts.agent_packages_dir = packages_;
    opts.worker_threads = 1;
    auto server = CollectorServer::Start(opts);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    conf_ = opts.data_dir + "/admin.conf";
    url_ = server_->download_url();
    ASSERT_TRUE(absl::StartsWith(url_, "https://127.0.0.1:")) << url_;
    ca_ = opts.data_dir + "/ca.pem";
  }

  std::string Token(const std::string& machine = "") {
    std::vector<std::string> args = {"token", "create"};
    if (!machine.empty()) args.insert(args.end(), {"--for", machine});
    auto r = Ctl(args, conf_);
    EXPECT_EQ(r.code, 0) << r.err;
    return std::string(absl::StripAsciiWhitespace(r.out));
  }

  // curl PATH with the token (none when empty), trusting the collector CA.
  Fetched Get(const std::string& path, const std::string& token, const std::vector<std::string>& extra = {}) {
    const std::string body = dir_.path() + "/body";
    unlink(body.c_str());
    std::vector<std::string> argv = {"curl", "-sS", "--cacert", ca_, "-o", body, "-D", "-", "-w", "\n%{http_code}"};
    if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    argv.insert(argv.end(), {"-H", "X-Steward-Hostname: web-7"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url_ + path);
    auto r = RunProcess(argv, StderrMode::kMerge);
    Fetched f;
    if (!r.has_value() || r->exit_code != 0) {
      f.body = r ? r->out : "curl did not run";
      return f;
    }
    size_t nl = r->out.rfind('\n');
    f.code = std::stoi(r->out.substr(nl + 1));
    f.headers = r->out.substr(0, nl);
    f.body = ReadFile(body).value_or("");
    return f;
  }

  testing::TempDir dir_{"install-endpoint"};
  std::string packages_, old_deb_, new_deb_, arm_deb_, conf_, url_, ca_;
  std::unique_ptr<CollectorServer> server_;
};

TEST_F(InstallEndpointTest, TheCaIsOpenAndItsFingerprintIsTheOneStewardctlGives) {
  Fetched ca = Get("/install/ca.pem", "");
  ASSERT_EQ(ca.code, 200) << ca.body;
  EXPECT_EQ(ca.body, ReadFile(ca_).value());
  // What install-agent.sh computes: SHA-256 over the DER.
  auto der = RunProcess({"sh", "-c", "openssl x509 -in '" + ca_ + "' -outform der | sha256sum | cut -d' ' -f1"},
                        StderrMode::kMerge);
  ASSERT_TRUE(der.has_value());
  auto info = Ctl({"install", "--print-command", "--json"}, conf_);
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_EQ(JsonStrings(info.out, "ca_sha256"), std::vector<std::string>{std::string(absl::StripAsciiWhitespace(der->out))});
  EXPECT_EQ(JsonStrings(info.out, "download_url"), std::vector<std::string>{url_});
  EXPECT_EQ(JsonStrings(info.out, "collector"), std::vector<std::string>{server_->address()});
  // Newest per architecture; the other package and the garbage file are skipped.
  EXPECT_EQ(JsonStrings(info.out, "version"), (std::vector<std::string>{"0.10.0", "0.10.0"}));
  EXPECT_EQ(JsonStrings(info.out, "arch"), (std::vector<std::string>{"amd64", "arm64"}));
}

// The lines `install --print-command` gives an operator work as printed:
// the CA check prints the fingerprint, the installer comes over the
// checked CA with the token.
TEST_F(InstallEndpointTest, PrintedCommandsWorkAsPrinted) {
  auto printed = Ctl({"install", "--print-command"}, conf_);
  ASSERT_EQ(printed.code, 0) << printed.err;
  auto json = Ctl({"install", "--print-command", "--json"}, conf_);
  const std::string fp = JsonStrings(json.out, "ca_sha256").at(0);
  std::string script = "set -e\ncd '" + dir_.path() + "'\n";
  for (absl::string_view line : absl::StrSplit(printed.out, '\n')) {
    if (absl::StartsWith(line, "curl ") || absl::StartsWith(line, "grep ")) absl::StrAppend(&script, line, "\n");
  }
  ASSERT_TRUE(absl::StrContains(script, "--insecure")) << printed.out;
  ASSERT_TRUE(absl::StrContains(script, "--cacert steward-ca.pem")) << printed.out;
  const std::string token = Token();
  auto r = RunProcess({"env", "TOKEN=" + token, "sh", "-c", script}, StderrMode::kMerge);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0) << r->out;
  EXPECT_EQ(r->out, fp + "  -\n");
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_.path() + "/install-agent.sh").value_or(""), "DEFAULT_COLLECTOR=\""));
  EXPECT_TRUE(absl::StrContains(printed.out, "sh install-agent.sh --collector " + server_->address() +
                                                 " --ca-sha256 " + fp + " --token \"$TOKEN\""))
      << printed.out;
}

TEST_F(InstallEndpointTest, EverythingButTheCaNeedsATokenThatCouldStillEnroll) {
  for (const char* path : {"/install/agent.sh", "/install/packages", "/install/packages/amd64.deb"}) {
    Fetched none = Get(path, "");
    EXPECT_EQ(none.code, 401) << path;
    EXPECT_TRUE(absl::StrContains(none.body, "an enrollment token is required")) << none.body;
    EXPECT_TRUE(absl::StrContains(none.headers, "WWW-Authenticate: Bearer")) << none.headers;
    Fetched bad = Get(path, "deadbeef.00112233");
    EXPECT_EQ(bad.code, 401) << path;
    EXPECT_TRUE(absl::StrContains(bad.body, "enrollment token is not known")) << bad.body;
    Fetched malformed = Get(path, "no-dot-here");
    EXPECT_EQ(malformed.code, 401);
    EXPECT_TRUE(absl::StrContains(malformed.body, "malformed")) << malformed.body;
  }
  std::string token = Token();
  const std::string id = token.substr(0, token.find('.'));
  ASSERT_EQ(Ctl({"token", "revoke", id}, conf_).code, 0);
  Fetched revoked = Get("/install/agent.sh", token);
  EXPECT_EQ(revoked.code, 401);
  EXPECT_TRUE(absl::StrContains(revoked.body, "was revoked")) << revoked.body;
  // The right id with a wrong secret is "not known" too: nothing to tell
  // a guesser which half was right.
  Fetched wrong_secret = Get("/install/agent.sh", Token().substr(0, 17) + "0000");
  EXPECT_EQ(wrong_secret.code, 401);
  EXPECT_TRUE(absl::StrContains(wrong_secret.body, "not known")) << wrong_secret.body;
}

TEST_F(InstallEndpointTest, ScriptIndexAndPackageWithAToken) {
  const std::string token = Token("web-7.example.org");
  Fetched script = Get("/install/agent.sh", token);
  ASSERT_EQ(script.code, 200) << script.body;
  EXPECT_TRUE(absl::StrContains(script.body, "DEFAULT_COLLECTOR=\"" + server_->address() + "\"\n")) << script.body;
  EXPECT_TRUE(absl::StrContains(script.body, "DEFAULT_DOWNLOAD=\"" + url_ + "\"\n"));
  // Otherwise the repository's script, byte for byte.
  std::string repo = ReadFile(std::string(STEWARD_SOURCE_DIR) + "/deploy/install-agent.sh").value();
  repo = absl::StrReplaceAll(repo, {{"DEFAULT_COLLECTOR=\"\"", "DEFAULT_COLLECTOR=\"" + server_->address() + "\""},
                                    {"DEFAULT_DOWNLOAD=\"\"", "DEFAULT_DOWNLOAD=\"" + url_ + "\""}});
  EXPECT_EQ(script.body, repo);

  Fetched index = Get("/install/packages", token);
  ASSERT_EQ(index.code, 200) << index.body;
  const std::string amd64_sha = Sha256OfFile(new_deb_).value();
  EXPECT_EQ(index.body, absl::StrCat("amd64 0.10.0 ", amd64_sha, " ", ReadFile(new_deb_)->size(),
                                     " steward-agent_0.10.0_amd64.deb\n", "arm64 0.10.0 ",
                                     Sha256OfFile(arm_deb_).value(), " ", ReadFile(arm_deb_)->size(),
                                     " steward-agent_0.10.0_arm64.deb\n"));

  Fetched deb = Get("/install/packages/amd64.deb", token);
  ASSERT_EQ(deb.code, 200) << deb.body;
  EXPECT_EQ(Sha256Hex(deb.body), amd64_sha);
  EXPECT_TRUE(absl::StrContains(deb.headers, "X-Steward-Sha256: " + amd64_sha)) << deb.headers;
  EXPECT_TRUE(absl::StrContains(deb.headers, "X-Steward-Version: 0.10.0"));
  Fetched head = Get("/install/packages/amd64.deb", token, {"-I"});
  EXPECT_EQ(head.code, 200);
  EXPECT_TRUE(absl::StrContains(head.headers, absl::StrCat("Content-Length: ", ReadFile(new_deb_)->size())));

  Fetched riscv = Get("/install/packages/riscv64.deb", token);
  EXPECT_EQ(riscv.code, 404);
  EXPECT_TRUE(absl::StrContains(riscv.body, "no agent package for architecture 'riscv64'; the collector has: "
                                            "amd64, arm64"))
      << riscv.body;
  // A package dropped in is served without a restart.
  BuildAgentDeb(dir_.path(), packages_, "steward-agent", "0.11.0~rc1", "amd64");
  EXPECT_TRUE(absl::StartsWith(Get("/install/packages", token).body, "amd64 0.11.0~rc1 "));

  // Downloads do not use the token up; they are noted on it.
  auto pending = Ctl({"hosts", "--pending", "--json"}, conf_);
  ASSERT_EQ(pending.code, 0) << pending.err;
  EXPECT_EQ(JsonStrings(pending.out, "machine"), std::vector<std::string>{"web-7.example.org"});
  EXPECT_EQ(JsonStrings(pending.out, "fetched_hostname"), std::vector<std::string>{"web-7"});
  EXPECT_EQ(JsonStrings(pending.out, "fetched_from"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(absl::StrContains(pending.out, "\"token_usable\": true")) << pending.out;
  auto table = Ctl({"hosts", "--pending"}, conf_);
  EXPECT_TRUE(absl::StrContains(table.out, "web-7.example.org")) << table.out;
  EXPECT_TRUE(absl::StrContains(table.out, "web-7 (127.0.0.1)")) << table.out;
}

TEST_F(InstallEndpointTest, WhatAnAttackerSendsGetsAClearRefusal) {
  const std::string token = Token();
  Fetched traversal = Get("/install/../data/ca.key", token, {"--path-as-is"});
  EXPECT_EQ(traversal.code, 400);
  EXPECT_TRUE(absl::StrContains(traversal.body, "'..'")) << traversal.body;
  Fetched escaped = Get("/install/packages/..%2f..%2fpki%2fca.key", token, {"--path-as-is"});
  EXPECT_EQ(escaped.code, 400) << escaped.body;
  Fetched unknown = Get("/admin", token);
  EXPECT_EQ(unknown.code, 404);
  EXPECT_TRUE(absl::StrContains(unknown.body, "/install/ca.pem")) << unknown.body;
  Fetched post = Get("/install/agent.sh", token, {"-X", "POST", "--data", "x"});
  EXPECT_EQ(post.code, 413) << post.body;  // a body is refused before anything else
  Fetched del = Get("/install/agent.sh", token, {"-X", "DELETE"});
  EXPECT_EQ(del.code, 405);
  EXPECT_TRUE(absl::StrContains(del.headers, "Allow: GET, HEAD"));
  Fetched huge = Get("/install/ca.pem", "", {"-H", "X-Big: " + std::string(10000, 'a')});
  EXPECT_EQ(huge.code, 431) << huge.body;
  // Plain HTTP to the TLS port is dropped; the listener keeps serving.
  auto plain = RunProcess({"curl", "-sS", "--max-time", "5", "http://" + url_.substr(8) + "/install/ca.pem"},
                          StderrMode::kMerge);
  ASSERT_TRUE(plain.has_value());
  EXPECT_NE(plain->exit_code, 0);
  EXPECT_EQ(Get("/install/ca.pem", "").code, 200);
}

TEST_F(InstallEndpointTest, GuessingTokensIsRateLimitedPerAddress) {
  int limited = 0;
  for (int i = 0; i < 80 && limited == 0; ++i) {
    Fetched f = Get("/install/packages", absl::StrCat("guess", i, ".secret"));
    if (f.code == 429) {
      ++limited;
      EXPECT_TRUE(absl::StrContains(f.body, "too many requests from this address; retry in")) << f.body;
      EXPECT_TRUE(absl::StrContains(f.headers, "Retry-After: ")) << f.headers;
    } else {
      EXPECT_EQ(f.code, 401);
    }
  }
  EXPECT_EQ(limited, 1);
  // The CA stays available: it needs no token.
  EXPECT_EQ(Get("/install/ca.pem", "").code, 200);
}

// install-agent.sh refuses before it changes anything: bad arguments (exit
// 2), and a collector whose CA is not the one pinned (exit 1).
TEST_F(InstallEndpointTest, InstallScriptRefusesBadArgumentsAndAnotherCa) {
  const std::string script = std::string(STEWARD_SOURCE_DIR) + "/deploy/install-agent.sh";
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"sh", script});
    return RunProcess(args, StderrMode::kMerge).value();
  };
  const std::string fp(64, 'a');
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* says;
  } cases[] = {
      {{"--token", "x.y", "--ca-sha256", fp}, 2, "--collector HOST:PORT is required"},
      {{"--collector", "c:1", "--token", "x.y"}, 2, "--ca-sha256 is required"},
      {{"--collector", "c:1", "--ca-sha256", "abc"}, 2, "64 hex digits"},
      {{"--collector", "c", "--ca-sha256", fp}, 2, "must be HOST:PORT"},
      {{"--collector", "c:x", "--ca-sha256", fp}, 2, "must be HOST:PORT"},
      {{"--collector", "c:1", "--ca-sha256", fp, "--download", "http://c:2"}, 2, "https:// URL"},
      {{"--colector", "c:1"}, 2, "unknown argument '--colector'"},
      {{"--collector"}, 2, "--collector needs a value"},
      {{"--collector", "c:1", "--ca-sha256", fp, "--wait", "soon"}, 2, "whole seconds"},
  };
  for (const Case& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.exit_code, c.code) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, c.says)) << r.out;
  }
  auto help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(help.out, "usage: install-agent.sh --collector HOST:PORT"));
  // Pinned to another fingerprint: refused before any package or token.
  auto r = run({"--collector", server_->address(), "--download", url_, "--token", Token(), "--ca-sha256",
                std::string(64, 'b')});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "refusing to trust it")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "not the " + std::string(64, 'b'))) << r.out;
}

// An enrolled agent downloads with its own certificate instead of a token
// (the installer run again on a host that has an agent), unless it was
// disabled; a certificate of another CA does not get through the handshake.
TEST_F(InstallEndpointTest, AnEnrolledAgentsCertificateStandsForAToken) {
  v1::HostFacts facts;
  facts.set_hostname("web-8");
  auto id = agent::EnrollAgent(server_->address(), ReadFile(ca_).value(), Token(), dir_.path() + "/agent", facts,
                               absl::Seconds(10));
  ASSERT_TRUE(id.ok()) << id.status();
  const std::vector<std::string> cert = {"--cert", dir_.path() + "/agent/agent.crt", "--key",
                                         dir_.path() + "/agent/agent.key"};
  Fetched index = Get("/install/packages", "", cert);
  EXPECT_EQ(index.code, 200) << index.body;
  EXPECT_TRUE(absl::StartsWith(index.body, "amd64 0.10.0 ")) << index.body;
  ASSERT_EQ(Ctl({"hosts", "disable", id->agent_id}, conf_).code, 0);
  Fetched disabled = Get("/install/packages", "", cert);
  EXPECT_EQ(disabled.code, 403);
  EXPECT_TRUE(absl::StrContains(disabled.body, "agent " + id->agent_id + " is disabled")) << disabled.body;
  ASSERT_EQ(Ctl({"hosts", "enable", id->agent_id}, conf_).code, 0);
  EXPECT_EQ(Get("/install/packages", "", cert).code, 200);
  // The admin credential is signed by the same CA but is no agent's.
  Fetched no_agent = Get("/install/packages", "", {"--cert", dir_.path() + "/data/pki/admin.crt", "--key",
                                                    dir_.path() + "/data/pki/admin.key"});
  EXPECT_EQ(no_agent.code, 401) << no_agent.body;
}

// A collector with no agent package yet (a build tree): the command to run
// by hand is printed with a warning; installing over ssh is refused saying
// where the package goes.
TEST(InstallWithoutPackages, PrintCommandWarnsAndSshInstallSaysWhereThePackageGoes) {
  testing::TempDir dir("install-nopkg");
  auto live = ctl::StartCollector(dir.path() + "/data");
  ASSERT_TRUE(live.ok()) << live.status();
  auto printed = Ctl({"install", "--print-command"}, live->conf);
  EXPECT_EQ(printed.code, 0) << printed.err;
  EXPECT_TRUE(absl::StrContains(printed.err, "warning: the collector serves no agent package yet")) << printed.err;
  EXPECT_TRUE(absl::StrContains(printed.err, dir.path() + "/data/agent-packages")) << printed.err;
  EXPECT_TRUE(absl::StrContains(printed.out, "--ca-sha256 ")) << printed.out;
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/machines.txt", "root@127.0.0.1:1\n").ok());
  auto ssh = Ctl({"install", "--ssh", dir.path() + "/machines.txt"}, live->conf);
  EXPECT_EQ(ssh.code, 1);
  EXPECT_TRUE(absl::StrContains(ssh.err, "the collector serves no agent package yet")) << ssh.err;
  EXPECT_EQ(ssh.out, "");
}

// A server that is not the pinned collector gets no token: the script sends
// its token only after the CA it downloaded has the pinned fingerprint,
// and then only to a server holding that CA's certificate.
TEST_F(InstallEndpointTest, InstallScriptSendsNoTokenToAnUnverifiedServer) {
  // An impostor on HTTPS (any certificate: the collector's own will do)
  // that serves another CA and writes down every request's headers.
  const std::string log = dir_.path() + "/impostor-headers";
  const std::string pki = dir_.path() + "/data/pki";
  const std::string other_ca = dir_.path() + "/other-ca.pem";
  ASSERT_TRUE(WriteFileAtomic(other_ca, ReadFile(pki + "/server.crt").value()).ok());
  const std::string server_py = dir_.path() + "/impostor.py";
  ASSERT_TRUE(WriteFileAtomic(server_py, R"PY(
import http.server, ssl, sys
log, cert, key, body_file, port_file = sys.argv[1:6]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n" + str(self.headers) + "\n")
        body = open(body_file, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(port_file, "w").write(str(srv.server_address[1]))
srv.handle_request()
)PY").ok());
  const std::string port_file = dir_.path() + "/impostor-port";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execlp("python3", "python3", server_py.c_str(), log.c_str(), (pki + "/server.crt").c_str(),
           (pki + "/server.key").c_str(), other_ca.c_str(), port_file.c_str(), nullptr);
    _exit(127);
  }
  std::string port;
  for (int i = 0; i < 100 && port.empty(); ++i) {
    usleep(50000);
    port = ReadFile(port_file).value_or("");
  }
  ASSERT_FALSE(port.empty()) << "the impostor did not start";
  const std::string token = Token();
  auto r = RunProcess({"sh", std::string(STEWARD_SOURCE_DIR) + "/deploy/install-agent.sh", "--collector",
                       server_->address(), "--download", "https://127.0.0.1:" + port, "--token", token,
                       "--ca-sha256", Sha256Hex(std::string("pinned"))},
                      StderrMode::kMerge);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 1) << r->out;
  EXPECT_TRUE(absl::StrContains(r->out, "refusing to trust it")) << r->out;
  const std::string seen = ReadFile(log).value_or("");
  EXPECT_TRUE(absl::StrContains(seen, "/install/ca.pem")) << seen;  // it was asked, and
  EXPECT_FALSE(absl::StrContains(seen, "Authorization")) << seen;   // got no token
  EXPECT_FALSE(absl::StrContains(seen, token.substr(token.find('.') + 1))) << seen;
}

}  // namespace
}  // namespace steward::collector
