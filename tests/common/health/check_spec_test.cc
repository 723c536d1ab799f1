#include "common/health/check_spec.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using ::testing::HasSubstr;

v1::CheckSpec Spec(const std::string& name, const std::string& type,
                   std::vector<std::pair<std::string, std::string>> params) {
  v1::CheckSpec spec;
  spec.set_name(name);
  spec.set_type(type);
  for (auto& [k, v] : params) (*spec.mutable_params())[k] = v;
  return spec;
}

// The error message of an invalid spec ("" when it is valid).
std::string Error(const v1::CheckSpec& spec) {
  absl::Status s = ValidateCheckSpec(spec);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  return std::string(s.message());
}

TEST(ValidateCheckSpec, AcceptsEveryTypeWithItsParams) {
  EXPECT_EQ(Error(Spec("nginx", "process", {{"name", "nginx"}})), "");
  EXPECT_EQ(
      Error(Spec("workers", "process", {{"cmdline", "gunicorn app:app"}, {"min_count", "4"}})), "");
  EXPECT_EQ(
      Error(Spec("db", "process", {{"pidfile", "/run/postgresql/main.pid"}, {"min_count", "0"}})),
      "");
  EXPECT_EQ(Error(Spec("nginx.unit", "systemd", {{"unit", "nginx.service"}})), "");
  EXPECT_EQ(Error(Spec("cron", "systemd", {{"unit", "cron.service"}, {"restart_window", "1h30m"}})),
            "");
  EXPECT_EQ(Error(Spec("pg", "tcp", {{"address", "127.0.0.1:5432"}})), "");
  EXPECT_EQ(
      Error(Spec("pg6", "tcp", {{"address", "[::1]:5432"}, {"timeout", "500ms"}, {"slow", "0s"}})),
      "");
  EXPECT_EQ(Error(Spec("pg-name", "tcp", {{"address", "db.internal:5432"}})), "");
  EXPECT_EQ(Error(Spec("web", "http", {{"url", "http://127.0.0.1/"}})), "");
  EXPECT_EQ(Error(Spec("web_tls", "http",
                       {{"url", "https://[::1]:8443/healthz?full=1"},
                        {"expect_status", "204"},
                        {"timeout", "5s"},
                        {"slow", "250ms"},
                        {"ca_file", "/etc/steward/ca.pem"},
                        {"insecure", "false"}})),
            "");
}

TEST(ValidateCheckSpec, NameRules) {
  EXPECT_THAT(Error(Spec("", "tcp", {{"address", "h:1"}})), HasSubstr("check name is empty"));
  EXPECT_THAT(Error(Spec("Web", "tcp", {{"address", "h:1"}})),
              HasSubstr("check name 'Web' is invalid"));
  EXPECT_THAT(Error(Spec("a b", "tcp", {{"address", "h:1"}})), HasSubstr("is invalid"));
  EXPECT_THAT(Error(Spec("a/b", "tcp", {{"address", "h:1"}})), HasSubstr("is invalid"));
  EXPECT_EQ(Error(Spec(std::string(64, 'a'), "tcp", {{"address", "h:1"}})), "");
  EXPECT_THAT(Error(Spec(std::string(65, 'a'), "tcp", {{"address", "h:1"}})),
              HasSubstr("at most 64"));
  EXPECT_EQ(Error(Spec("a-b_c.d0", "tcp", {{"address", "h:1"}})), "");
}

TEST(ValidateCheckSpec, UnknownType) {
  EXPECT_EQ(Error(Spec("web", "ping", {})),
            "check 'web': unknown type 'ping' (http, process, systemd, tcp)");
  EXPECT_THAT(Error(Spec("web", "", {})), HasSubstr("unknown type ''"));
}

TEST(ValidateCheckSpec, RequiredParams) {
  EXPECT_EQ(Error(Spec("web", "http", {})), "check 'web': missing required param 'url'");
  EXPECT_EQ(Error(Spec("pg", "tcp", {{"timeout", "1s"}})),
            "check 'pg': missing required param 'address'");
  EXPECT_EQ(Error(Spec("u", "systemd", {})), "check 'u': missing required param 'unit'");
  EXPECT_THAT(Error(Spec("p", "process", {{"min_count", "1"}})),
              HasSubstr("check 'p': needs exactly one of the params name, cmdline, pidfile"));
  EXPECT_THAT(Error(Spec("p", "process", {{"name", "a"}, {"pidfile", "/run/a.pid"}})),
              HasSubstr("several given"));
}

TEST(ValidateCheckSpec, UnknownParamsAreRefused) {
  EXPECT_THAT(
      Error(Spec("pg", "tcp", {{"address", "h:1"}, {"url", "http://h/"}})),
      HasSubstr("check 'pg': unknown param 'url' for type tcp (known: address, timeout, slow)"));
  EXPECT_THAT(Error(Spec("p", "process", {{"name", "a"}, {"timeout", "1s"}})),
              HasSubstr("unknown param 'timeout'"));
}

TEST(ValidateCheckSpec, Durations) {
  EXPECT_THAT(Error(Spec("web", "http", {{"url", "http://h/"}, {"timeout", "x"}})),
              HasSubstr("check 'web': param 'timeout': invalid duration 'x'"));
  EXPECT_THAT(Error(Spec("web", "http", {{"url", "http://h/"}, {"slow", "-1s"}})),
              HasSubstr("param 'slow': invalid duration '-1s'"));
  EXPECT_THAT(Error(Spec("web", "http", {{"url", "http://h/"}, {"timeout", "0s"}})),
              HasSubstr("param 'timeout': timeout '0s' must be above 0s and at most 1m"));
  EXPECT_THAT(Error(Spec("web", "http", {{"url", "http://h/"}, {"timeout", "2m"}})),
              HasSubstr("at most 1m"));
  EXPECT_THAT(Error(Spec("u", "systemd", {{"unit", "a.service"}, {"restart_window", "0s"}})),
              HasSubstr("param 'restart_window': restart_window '0s' must be above 0s"));
  EXPECT_THAT(Error(Spec("u", "systemd", {{"unit", "a.service"}, {"restart_window", "ten"}})),
              HasSubstr("param 'restart_window': invalid duration 'ten'"));
}

TEST(ValidateCheckSpec, Urls) {
  auto url_error = [](const std::string& url) {
    return Error(Spec("web", "http", {{"url", url}}));
  };
  EXPECT_THAT(url_error("ftp://h/"),
              HasSubstr("param 'url': url 'ftp://h/' must start with http:// or https://"));
  EXPECT_THAT(url_error("127.0.0.1:80"), HasSubstr("must start with http://"));
  EXPECT_THAT(url_error("http://"), HasSubstr("has no host"));
  EXPECT_THAT(url_error("http:///path"), HasSubstr("has no host"));
  EXPECT_THAT(url_error("http://h:0/"), HasSubstr("invalid port '0'"));
  EXPECT_THAT(url_error("http://h:65536/"), HasSubstr("invalid port '65536'"));
  EXPECT_THAT(url_error("http://h:x/"), HasSubstr("invalid port 'x'"));
  EXPECT_THAT(url_error("http://user:pw@h/"), HasSubstr("user info"));
  EXPECT_THAT(url_error("http://h/a b"), HasSubstr("spaces or control bytes"));
  EXPECT_THAT(url_error("http://[::1/"), HasSubstr("unterminated '['"));
  EXPECT_THAT(url_error("http://[zz]:80/"), HasSubstr("invalid IPv6 address 'zz'"));
  EXPECT_THAT(url_error("http://::1/"), HasSubstr("must be in brackets"));
  EXPECT_EQ(url_error("https://example.com"), "");
  EXPECT_EQ(url_error("http://h:8080?x=1#frag"), "");
}

TEST(ParseCheckUrl, SplitsTheUrl) {
  auto u = ParseCheckUrl("https://[::1]:8443/healthz?full=1#top");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->endpoint, (CheckEndpoint{"::1", 8443}));
  EXPECT_FALSE(u->default_port);
  EXPECT_EQ(u->target, "/healthz?full=1");

  u = ParseCheckUrl("http://example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->endpoint, (CheckEndpoint{"example.com", 80}));
  EXPECT_TRUE(u->default_port);
  EXPECT_EQ(u->target, "/");

  u = ParseCheckUrl("https://h?q");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->endpoint.port, 443);
  EXPECT_EQ(u->target, "/?q");
}

TEST(ValidateCheckSpec, Addresses) {
  auto addr_error = [](const std::string& a) { return Error(Spec("pg", "tcp", {{"address", a}})); };
  EXPECT_THAT(addr_error("127.0.0.1"), HasSubstr("param 'address': '127.0.0.1' has no port"));
  EXPECT_THAT(addr_error("::1:80"), HasSubstr("must be in brackets"));
  EXPECT_THAT(addr_error("[::1]"), HasSubstr("has no port"));
  EXPECT_THAT(addr_error("[::1]80"), HasSubstr("expected ':PORT' after ']'"));
  EXPECT_THAT(addr_error(":80"), HasSubstr("invalid host ''"));
  EXPECT_THAT(addr_error("h:"), HasSubstr("invalid port ''"));
  EXPECT_THAT(addr_error("h:99999"), HasSubstr("invalid port '99999'"));
  EXPECT_THAT(addr_error("a b:1"), HasSubstr("invalid host"));
  auto ep = ParseCheckAddress("[2001:db8::1]:443");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(*ep, (CheckEndpoint{"2001:db8::1", 443}));
}

TEST(ValidateCheckSpec, ExpectStatusMinCountAndOthers) {
  auto http = [](const std::string& k, const std::string& v) {
    return Error(Spec("web", "http", {{"url", "http://h/"}, {k, v}}));
  };
  EXPECT_EQ(http("expect_status", "100"), "");
  EXPECT_EQ(http("expect_status", "599"), "");
  EXPECT_THAT(http("expect_status", "99"),
              HasSubstr("param 'expect_status': invalid HTTP status '99' (100..599)"));
  EXPECT_THAT(http("expect_status", "600"), HasSubstr("invalid HTTP status '600'"));
  EXPECT_THAT(http("expect_status", "ok"), HasSubstr("invalid HTTP status 'ok'"));
  EXPECT_THAT(http("insecure", "yes"), HasSubstr("param 'insecure': invalid boolean 'yes'"));
  EXPECT_THAT(http("ca_file", "ca.pem"),
              HasSubstr("param 'ca_file': path 'ca.pem' must be absolute"));

  auto proc = [](const std::string& k, const std::string& v, const std::string& min) {
    return Error(Spec("p", "process", {{k, v}, {"min_count", min}}));
  };
  EXPECT_EQ(proc("name", "nginx", "0"), "");
  EXPECT_THAT(proc("name", "nginx", "-1"), HasSubstr("param 'min_count': invalid count '-1'"));
  EXPECT_THAT(proc("name", "nginx", "two"), HasSubstr("invalid count 'two'"));
  EXPECT_THAT(
      proc("name", "a-very-long-process-name", "1"),
      HasSubstr("param 'name': process name 'a-very-long-process-name' must be 1 to 15 bytes"));
  EXPECT_THAT(proc("pidfile", "run/x.pid", "1"),
              HasSubstr("param 'pidfile': path 'run/x.pid' must be absolute"));
  EXPECT_THAT(proc("cmdline", "", "1"), HasSubstr("param 'cmdline': cmdline substring is empty"));

  EXPECT_THAT(Error(Spec("u", "systemd", {{"unit", "-p"}})),
              HasSubstr("param 'unit': invalid unit name '-p'"));
  EXPECT_THAT(Error(Spec("u", "systemd", {{"unit", "a b.service"}})),
              HasSubstr("invalid unit name"));
}

TEST(IsCheckKey, RecognizesCheckKeys) {
  EXPECT_TRUE(IsCheckKey("check.web.type"));
  EXPECT_TRUE(IsCheckKey("check.api.v1.url"));
  EXPECT_FALSE(IsCheckKey("check.web"));
  EXPECT_FALSE(IsCheckKey("check..type"));
  EXPECT_FALSE(IsCheckKey("check.web."));
  EXPECT_FALSE(IsCheckKey("collector"));
  EXPECT_FALSE(IsCheckKey("checks.web.type"));
}

TEST(ChecksFromConfig, ReadsChecksSortedByName) {
  auto cfg = KvConfig::Parse(R"(# agent config
collector = 127.0.0.1:7443
check.web.type = http
check.web.url = https://127.0.0.1:8443/healthz
check.web.slow = 500ms
check.api.v1.type = tcp
check.api.v1.address = 127.0.0.1:9000
label = env=prod
check.nginx.type = process
check.nginx.name = nginx
check.nginx.min_count = 2
)",
                             "agent.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  auto checks = ChecksFromConfig(*cfg, "agent.conf");
  ASSERT_TRUE(checks.ok()) << checks.status();
  ASSERT_EQ(checks->size(), 3u);
  EXPECT_EQ((*checks)[0].name(), "api.v1");
  EXPECT_EQ((*checks)[0].type(), "tcp");
  EXPECT_EQ((*checks)[0].params().at("address"), "127.0.0.1:9000");
  EXPECT_EQ((*checks)[1].name(), "nginx");
  EXPECT_EQ((*checks)[1].params().size(), 2u);
  EXPECT_EQ((*checks)[1].params().at("min_count"), "2");
  EXPECT_EQ((*checks)[2].name(), "web");
  EXPECT_EQ((*checks)[2].type(), "http");
  EXPECT_EQ((*checks)[2].params().at("url"), "https://127.0.0.1:8443/healthz");
  EXPECT_EQ((*checks)[2].params().at("slow"), "500ms");

  for (const auto& [key, value] : cfg->entries()) {
    EXPECT_EQ(IsCheckKey(key), key.rfind("check.", 0) == 0) << key;
  }
}

TEST(ChecksFromConfig, NoChecks) {
  auto cfg = KvConfig::Parse("collector = 127.0.0.1:7443\n", "agent.conf");
  ASSERT_TRUE(cfg.ok());
  auto checks = ChecksFromConfig(*cfg, "agent.conf");
  ASSERT_TRUE(checks.ok());
  EXPECT_TRUE(checks->empty());
}

std::string ConfigError(const std::string& text) {
  auto cfg = KvConfig::Parse(text, "/etc/steward/agent.conf");
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  if (!cfg.ok()) return "";
  auto checks = ChecksFromConfig(*cfg, "/etc/steward/agent.conf");
  if (checks.ok()) return "";
  return std::string(checks.status().message());
}

TEST(ChecksFromConfig, Errors) {
  EXPECT_EQ(ConfigError("check.web.url = http://h/\n"),
            "/etc/steward/agent.conf: check 'web': no 'check.web.type' line");
  EXPECT_EQ(
      ConfigError("check.web.type = http\ncheck.web.url = http://h/\ncheck.web.url = http://g/\n"),
      "/etc/steward/agent.conf: check 'web': param 'url' given twice");
  EXPECT_EQ(ConfigError("check.web.type = http\ncheck.web.type = tcp\n"),
            "/etc/steward/agent.conf: check 'web': 'type' given twice");
  EXPECT_EQ(ConfigError("check.web = 1\n"),
            "/etc/steward/agent.conf: key 'check.web' must be check.<name>.<param>");
  EXPECT_THAT(
      ConfigError("check.web.type = http\ncheck.web.url = http://h/\ncheck.web.timeout = x\n"),
      HasSubstr("/etc/steward/agent.conf: check 'web': param 'timeout': invalid duration 'x'"));
  EXPECT_THAT(
      ConfigError("check.web.type = http\ncheck.web.url = http://h/\ncheck.web.tiemout = 1s\n"),
      HasSubstr("check 'web': unknown param 'tiemout'"));
}

}  // namespace
}  // namespace steward
