#include "agent/session/agent_config.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using Args = std::vector<std::string>;

const Args kRequired = {"--collector",         "10.0.0.5:7443", "--ca-file",
                        "/etc/steward/ca.pem", "--state-dir",   "/var/lib/steward-agent"};

Args With(Args extra) {
  Args a = kRequired;
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

absl::Status ParseError(const Args& args) {
  bool help = false;
  auto cfg = ParseAgentConfig(args, &help);
  EXPECT_FALSE(cfg.ok()) << "accepted";
  return cfg.ok() ? absl::OkStatus() : cfg.status();
}

TEST(ParseAgentConfig, RequiredFlagsAndDefaults) {
  bool help = true;
  auto cfg = ParseAgentConfig(kRequired, &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(help);
  EXPECT_EQ(cfg->collector, "10.0.0.5:7443");
  EXPECT_EQ(cfg->ca_file, "/etc/steward/ca.pem");
  EXPECT_EQ(cfg->state_dir, "/var/lib/steward-agent");
  EXPECT_EQ(cfg->enroll_token, "");
  EXPECT_EQ(cfg->interval, absl::Seconds(10));
  EXPECT_EQ(cfg->dpkg_status, "/var/lib/dpkg/status");
  EXPECT_EQ(cfg->os_release, "/etc/os-release");
  EXPECT_EQ(cfg->proc_root, "/proc");
  EXPECT_EQ(cfg->log_level, "info");
  EXPECT_TRUE(cfg->services_enabled);
  EXPECT_EQ(cfg->services_systemctl, "");
  EXPECT_EQ(cfg->services_interval, absl::Minutes(1));
}

TEST(ParseAgentConfig, ReadsEveryFlag) {
  bool help = false;
  auto cfg = ParseAgentConfig(
      With({"--enroll-token=abc.def", "--interval", "1m30s", "--dpkg-status", "/tmp/status",
            "--os-release", "/tmp/os-release", "--proc-root=/tmp/proc", "--log-level", "debug"}),
      &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->enroll_token, "abc.def");
  EXPECT_EQ(cfg->interval, absl::Seconds(90));
  EXPECT_EQ(cfg->dpkg_status, "/tmp/status");
  EXPECT_EQ(cfg->os_release, "/tmp/os-release");
  EXPECT_EQ(cfg->proc_root, "/tmp/proc");
  EXPECT_EQ(cfg->log_level, "debug");
}

TEST(ParseAgentConfig, HelpNeedsNothingElse) {
  bool help = false;
  auto cfg = ParseAgentConfig({"--help"}, &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(help);
  std::string usage = AgentUsage();
  EXPECT_TRUE(absl::StartsWith(usage, "usage: steward-agent")) << usage;
  for (const char* flag :
       {"--collector", "--ca-file", "--state-dir", "--enroll-token", "--interval", "--config"}) {
    EXPECT_TRUE(absl::StrContains(usage, flag)) << flag;
  }
}

TEST(ParseAgentConfig, VersionNeedsNothingElse) {
  bool help = false;
  auto cfg = ParseAgentConfig({"--version"}, &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(help);
  EXPECT_TRUE(cfg->show_version);
  EXPECT_TRUE(absl::StrContains(AgentUsage(), "--version")) << AgentUsage();
  // Not without the flag.
  cfg = ParseAgentConfig({"--collector", "c:1", "--ca-file", "ca", "--state-dir", "s"}, &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->show_version);
}

TEST(ParseAgentConfig, MissingRequiredFlagsAreNamed) {
  EXPECT_TRUE(absl::StrContains(ParseError({"--ca-file", "c", "--state-dir", "s"}).message(),
                                "--collector"));
  EXPECT_TRUE(absl::StrContains(ParseError({"--collector", "h:1", "--state-dir", "s"}).message(),
                                "--ca-file"));
  EXPECT_TRUE(absl::StrContains(ParseError({"--collector", "h:1", "--ca-file", "c"}).message(),
                                "--state-dir"));
  EXPECT_TRUE(absl::StrContains(ParseError({}).message(), "required"));
  // An empty value is as good as missing.
  EXPECT_TRUE(absl::StrContains(ParseError(With({"--collector="})).message(), "--collector"));
}

TEST(ParseAgentConfig, UnknownFlagAndStrayWordsAreErrors) {
  absl::Status s = ParseError(With({"--colector", "x"}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--colector")) << s;
  s = ParseError(With({"stray"}));
  EXPECT_TRUE(absl::StrContains(s.message(), "'stray'")) << s;
  s = ParseError(With({"--interval"}));
  EXPECT_TRUE(absl::StrContains(s.message(), "--interval needs a value")) << s;
}

TEST(ParseAgentConfig, IntervalBelow100msOrInvalidIsAnError) {
  for (const char* bad : {"50ms", "0s", "99ms"}) {
    absl::Status s = ParseError(With({"--interval", bad}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(s.message(), bad)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "minimum of 100ms")) << s;
  }
  absl::Status s = ParseError(With({"--interval", "often"}));
  EXPECT_TRUE(absl::StrContains(s.message(), "invalid duration 'often'")) << s;
  s = ParseError(With({"--interval", "-10s"}));
  EXPECT_TRUE(absl::StrContains(s.message(), "negative")) << s;
  bool help = false;
  auto ok = ParseAgentConfig(With({"--interval", "1s"}), &help);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->interval, absl::Seconds(1));
}

TEST(ParseAgentConfig, SelfUpdateDeadlineIsADurationFrom10sTo1h) {
  bool help = false;
  auto defaults = ParseAgentConfig(kRequired, &help);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->self_update_deadline, absl::Minutes(2));
  auto ok = ParseAgentConfig(With({"--self-update-deadline", "45s"}), &help);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->self_update_deadline, absl::Seconds(45));
  for (const char* bad : {"5s", "2h", "soon", "-1m"}) {
    absl::Status s = ParseError(With({"--self-update-deadline", bad}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(s.message(), "from 10s to 1h")) << s;
  }
}

TEST(ParseAgentConfig, ReadsConfigFile) {
  testing::TempDir dir;
  std::string path = dir.Write("agent.conf",
                               "# steward agent\n"
                               "collector = collector.internal:7443\n"
                               "ca_file = /etc/steward/ca.pem\n"
                               "state_dir = /var/lib/steward\n"
                               "enroll_token = tok.secret\n"
                               "interval = 1d\n"
                               "dpkg_status = /srv/status\n"
                               "os_release = /srv/os-release\n"
                               "proc_root = /srv/proc\n"
                               "log_level = warn\n");
  bool help = false;
  auto cfg = ParseAgentConfig({"--config", path}, &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->collector, "collector.internal:7443");
  EXPECT_EQ(cfg->ca_file, "/etc/steward/ca.pem");
  EXPECT_EQ(cfg->state_dir, "/var/lib/steward");
  EXPECT_EQ(cfg->enroll_token, "tok.secret");
  EXPECT_EQ(cfg->interval, absl::Hours(24));
  EXPECT_EQ(cfg->dpkg_status, "/srv/status");
  EXPECT_EQ(cfg->os_release, "/srv/os-release");
  EXPECT_EQ(cfg->proc_root, "/srv/proc");
  EXPECT_EQ(cfg->log_level, "warn");
}

TEST(ParseAgentConfig, ReadsServicesKeys) {
  testing::TempDir dir;
  auto parse = [&](const std::string& lines) {
    std::string path = dir.Write("agent.conf", "collector = c:1\nca_file = /ca\nstate_dir = /s\n" + lines);
    bool help = false;
    return ParseAgentConfig({"--config", path}, &help);
  };
  auto cfg = parse("services.enabled = false\nservices.systemctl = /opt/bin/fake-systemctl\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_FALSE(cfg->services_enabled);
  EXPECT_EQ(cfg->services_systemctl, "/opt/bin/fake-systemctl");
  cfg = parse("services.enabled = true\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->services_enabled);

  cfg = parse("services.enabled = yes\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(absl::StrContains(cfg.status().message(), "services.enabled = 'yes' must be true or false"))
      << cfg.status();
  cfg = parse("services.systemctl = systemctl\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(absl::StrContains(cfg.status().message(), "services.systemctl = 'systemctl' must be an absolute path"))
      << cfg.status();
  cfg = parse("services.interval = 5m\n");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->services_interval, absl::Minutes(5));
  for (const char* bad : {"services.interval = 0s\n", "services.interval = soon\n"}) {
    cfg = parse(bad);
    ASSERT_FALSE(cfg.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(cfg.status().message(), "must be a duration above 0")) << cfg.status();
  }
  cfg = parse("services.bogus = 1\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(absl::StrContains(cfg.status().message(), "unknown setting(s): services.bogus")) << cfg.status();
}

TEST(ParseAgentConfig, FlagsWinOverConfigFile) {
  testing::TempDir dir;
  std::string path = dir.Write("agent.conf",
                               "collector = from-file:1\n"
                               "ca_file = /file/ca.pem\n"
                               "state_dir = /file/state\n"
                               "interval = 5m\n"
                               "log_level = error\n");
  bool help = false;
  auto cfg =
      ParseAgentConfig({"--collector", "from-flag:2", "--config", path, "--interval=20s"}, &help);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->collector, "from-flag:2");
  EXPECT_EQ(cfg->interval, absl::Seconds(20));
  EXPECT_EQ(cfg->ca_file, "/file/ca.pem");
  EXPECT_EQ(cfg->state_dir, "/file/state");
  EXPECT_EQ(cfg->log_level, "error");
  // A flag set to empty still wins (and then the setting is missing).
  absl::Status s = ParseError({"--config", path, "--collector="});
  EXPECT_TRUE(absl::StrContains(s.message(), "--collector")) << s;
}

TEST(ParseAgentConfig, ConfigFileUnknownKeyIsAnErrorNamingFileAndKeys) {
  testing::TempDir dir;
  std::string path = dir.Write("agent.conf",
                               "collector = h:1\n"
                               "ca-file = /x\n"
                               "state_dir = /s\n"
                               "intervall = 5s\n");
  absl::Status s = ParseError({"--config", path});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), path)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "unknown setting(s): ca-file, intervall")) << s;
}

TEST(ParseAgentConfig, ConfigFileSyntaxErrorNamesLine) {
  testing::TempDir dir;
  std::string path = dir.Write("agent.conf", "collector = h:1\n\ncollector h:2\n");
  absl::Status s = ParseError(With({"--config", path}));
  EXPECT_TRUE(absl::StrContains(s.message(), path + " line 3")) << s;
}

TEST(ParseAgentConfig, ConfigFileIntervalIsValidated) {
  testing::TempDir dir;
  std::string path = dir.Write("agent.conf", "interval = 10ms\n");
  absl::Status s = ParseError(With({"--config", path}));
  EXPECT_TRUE(absl::StrContains(s.message(), "minimum of 100ms")) << s;
}

TEST(ParseAgentConfig, MissingConfigFileIsNotFoundNamingIt) {
  absl::Status s = ParseError(With({"--config", "/nonexistent-steward/agent.conf"}));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "/nonexistent-steward/agent.conf")) << s;
}

absl::StatusOr<AgentConfig> ParseWithEnv(const Args& args, const char* env) {
  bool help = false;
  return ParseAgentConfig(args, &help, env);
}

TEST(ParseAgentConfig, EnrollTokenFromFileIsReadAtEachUse) {
  testing::TempDir dir;
  std::string path = dir.Write("token", "  abcd.secret \n");
  auto cfg = ParseWithEnv(With({"--enroll-token-file", path}), nullptr);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->enroll_token_file, path);
  EXPECT_EQ(cfg->enroll_token, "");  // never kept from the parse
  EXPECT_EQ(CurrentEnrollToken(*cfg).value(), "abcd.secret");
  // A renewal token written there later is what the next use reads.
  dir.Write("token", "efgh.other\n");
  EXPECT_EQ(CurrentEnrollToken(*cfg).value(), "efgh.other");
  dir.Write("token", "\n");
  EXPECT_TRUE(absl::StrContains(CurrentEnrollToken(*cfg).status().message(), "is empty"));
  auto missing = ParseWithEnv(With({"--enroll-token-file", dir.path() + "/nope"}), nullptr);
  ASSERT_TRUE(missing.ok());  // only needed when enrolling
  EXPECT_TRUE(absl::StrContains(CurrentEnrollToken(*missing).status().message(), dir.path() + "/nope"));
}

TEST(ParseAgentConfig, EnrollTokenFromEnvironmentAndItsPrecedence) {
  testing::TempDir dir;
  auto env = ParseWithEnv(kRequired, "env.token");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(CurrentEnrollToken(*env).value(), "env.token");
  EXPECT_EQ(env->enroll_token_source, "STEWARD_ENROLL_TOKEN");
  // An empty variable is no token.
  EXPECT_EQ(CurrentEnrollToken(ParseWithEnv(kRequired, "").value()).value(), "");
  // The command line wins over the environment, the environment over the file.
  EXPECT_EQ(CurrentEnrollToken(ParseWithEnv(With({"--enroll-token", "flag.token"}), "env.token").value()).value(),
            "flag.token");
  std::string file = dir.Write("token", "file.token\n");
  EXPECT_EQ(CurrentEnrollToken(ParseWithEnv(With({"--enroll-token-file", file}), "env.token").value()).value(),
            "file.token");
  std::string conf = dir.Write("agent.conf", "enroll_token_file = " + file + "\n");
  auto from_conf = ParseWithEnv(With({"--config", conf}), nullptr);
  ASSERT_TRUE(from_conf.ok()) << from_conf.status();
  EXPECT_EQ(CurrentEnrollToken(*from_conf).value(), "file.token");
  EXPECT_EQ(CurrentEnrollToken(ParseWithEnv(With({"--config", conf}), "env.token").value()).value(), "env.token");
  // Two sources on one level are a mistake, not a guess.
  auto both = ParseWithEnv(With({"--enroll-token", "a.b", "--enroll-token-file", file}), nullptr);
  EXPECT_FALSE(both.ok());
  std::string both_conf = dir.Write("both.conf", "enroll_token = a.b\nenroll_token_file = " + file + "\n");
  EXPECT_FALSE(ParseWithEnv(With({"--config", both_conf}), nullptr).ok());
}

TEST(ParseAgentConfig, TheDefaultFileIsReadWhenItExistsAndNoConfigIsGiven) {
  testing::TempDir dir;
  std::string file = dir.Write("agent.conf", "collector = c.example.org:7443\nca_file = /etc/steward/ca.pem\n"
                                             "state_dir = /var/lib/steward-agent\ninterval = 30s\n");
  bool help = false;
  auto cfg = ParseAgentConfig({"--interval", "5s"}, &help, nullptr, file);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->config_file, file);
  EXPECT_EQ(cfg->collector, "c.example.org:7443");
  EXPECT_EQ(cfg->interval, absl::Seconds(5));  // flags still win

  // An explicit --config replaces it; /dev/null reads nothing.
  auto none = ParseAgentConfig(With({"--config", "/dev/null"}), &help, nullptr, file);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->collector, "10.0.0.5:7443");
  EXPECT_EQ(none->interval, absl::Seconds(10));

  // Absent: no file, no error.
  auto absent = ParseAgentConfig(kRequired, &help, nullptr, dir.path() + "/absent.conf");
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_EQ(absent->config_file, "");
}

TEST(ParseAgentConfig, AMissingSettingNamesTheFileItCouldGoIn) {
  testing::TempDir dir;
  std::string file = dir.Write("agent.conf", "state_dir = /var/lib/steward-agent\n");
  bool help = false;
  auto cfg = ParseAgentConfig({}, &help, nullptr, file);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "--collector HOST:PORT is required (or 'collector = ...' in " + file + ")");
  cfg = ParseAgentConfig({"--collector", "c:1"}, &help, nullptr, file);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            "--ca-file is required (the collector's DATA_DIR/ca.pem) (or 'ca_file = ...' in " + file + ")");
}

// The file the package installs as /etc/steward/agent.conf parses; with a
// collector and CA given it runs with the defaults and the package's state dir.
TEST(ParseAgentConfig, TheShippedFileGivesTheDefaults) {
  const std::string shipped = STEWARD_SOURCE_DIR "/deploy/config/agent.conf";
  bool help = false;
  auto cfg = ParseAgentConfig({"--collector", "c:7443", "--ca-file", "/etc/steward/ca.pem"}, &help, nullptr, shipped);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->state_dir, "/var/lib/steward-agent");
  EXPECT_EQ(cfg->interval, absl::Seconds(10));
  EXPECT_EQ(cfg->log_level, "info");
  EXPECT_TRUE(cfg->trusted_keys.empty());
  EXPECT_TRUE(cfg->checks.empty());
  // Unconfigured, the agent says what to set, and where.
  auto bare = ParseAgentConfig({}, &help, nullptr, shipped);
  ASSERT_FALSE(bare.ok());
  EXPECT_TRUE(absl::StrContains(bare.status().message(), "'collector = ...' in " + shipped)) << bare.status();
}

}  // namespace
}  // namespace steward::agent
