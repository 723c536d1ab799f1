#include "collector/service/collector_config.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::collector {
namespace {

using Args = std::vector<std::string>;

// Parses with no default file: these tests must not read /etc/steward.
absl::StatusOr<CollectorConfig> Parse(const Args& args) {
  bool help = false;
  return ParseCollectorConfig(args, &help, "");
}

// The error `args` give; fails the test when they are accepted.
std::string ErrorOf(const Args& args) {
  auto cfg = Parse(args);
  EXPECT_FALSE(cfg.ok()) << "accepted";
  if (cfg.ok()) return "";
  EXPECT_TRUE(absl::IsInvalidArgument(cfg.status())) << cfg.status();
  return std::string(cfg.status().message());
}

TEST(ParseCollectorConfig, FlagsAlone) {
  auto cfg = Parse({"--data-dir",
                    "/srv/steward",
                    "--listen",
                    "0.0.0.0:7443",
                    "--server-name",
                    "c.example.org",
                    "--workers",
                    "8",
                    "--retention",
                    "30d",
                    "--rollup-retention",
                    "0",
                    "--agent-cert-ttl",
                    "36h",
                    "--max-connections",
                    "5000",
                    "--max-connections-per-source",
                    "64",
                    "--max-series-per-agent",
                    "100",
                    "--max-new-series-per-minute",
                    "50",
                    "--min-free-disk",
                    "64MiB",
                    "--log-level",
                    "debug"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const CollectorOptions& o = cfg->options;
  EXPECT_EQ(o.data_dir, "/srv/steward");
  EXPECT_EQ(o.listen, "0.0.0.0:7443");
  EXPECT_EQ(o.server_names, std::vector<std::string>{"c.example.org"});
  EXPECT_EQ(o.worker_threads, 8);
  EXPECT_EQ(o.tsdb.retention_ms, absl::ToInt64Milliseconds(absl::Hours(30 * 24)));
  EXPECT_EQ(o.tsdb.rollup_retention_ms, 0);
  EXPECT_EQ(o.agent_cert_ttl, absl::Hours(36));
  EXPECT_EQ(o.max_connections, 5000u);
  EXPECT_EQ(o.max_connections_per_source, 64u);
  EXPECT_EQ(o.agent_limits.max_series, 100u);
  EXPECT_EQ(o.agent_limits.max_new_series_per_minute, 50u);
  EXPECT_EQ(o.min_free_disk_bytes, uint64_t{64} << 20);
  EXPECT_EQ(cfg->log_level, "debug");
  EXPECT_EQ(cfg->config_file, "");
}

TEST(ParseCollectorConfig, EveryKeyFromTheFileAndFlagsWin) {
  testing::TempDir dir;
  std::string file = dir.Write("collector.conf",
                               "# comment\n"
                               "data_dir = /var/lib/steward\n"
                               "listen = [::]:7443\n"
                               "server_name = c.example.org\n"
                               "server_name = 192.0.2.10\n"
                               "workers = 2\n"
                               "retention = 7d\n"
                               "rollup_retention = 90d\n"
                               "agent_cert_ttl = 1d\n"
                               "max_connections = 100\n"
                               "max_connections_per_source = 10\n"
                               "max_series_per_agent = 300\n"
                               "max_new_series_per_minute = 30\n"
                               "min_free_disk = 2G\n"
                               "log_level = warn\n");
  auto cfg = Parse({"--config", file, "--listen", "127.0.0.1:0", "--server-name",
                    "flag.example.org", "--workers=3"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const CollectorOptions& o = cfg->options;
  EXPECT_EQ(cfg->config_file, file);
  EXPECT_EQ(o.data_dir, "/var/lib/steward");
  EXPECT_EQ(o.listen, "127.0.0.1:0");  // the flag
  EXPECT_EQ(o.worker_threads, 3);      // the flag
  // Names add up: the file's, then the flags'.
  EXPECT_EQ(o.server_names,
            (std::vector<std::string>{"c.example.org", "192.0.2.10", "flag.example.org"}));
  EXPECT_EQ(o.tsdb.retention_ms, absl::ToInt64Milliseconds(absl::Hours(7 * 24)));
  EXPECT_EQ(o.tsdb.rollup_retention_ms, absl::ToInt64Milliseconds(absl::Hours(90 * 24)));
  EXPECT_EQ(o.agent_cert_ttl, absl::Hours(24));
  EXPECT_EQ(o.max_connections, 100u);
  EXPECT_EQ(o.max_connections_per_source, 10u);
  EXPECT_EQ(o.agent_limits.max_series, 300u);
  EXPECT_EQ(o.agent_limits.max_new_series_per_minute, 30u);
  EXPECT_EQ(o.min_free_disk_bytes, uint64_t{2} << 30);
  EXPECT_EQ(cfg->log_level, "warn");
}

TEST(ParseCollectorConfig, TheDefaultFileIsReadWhenItExistsAndNoConfigIsGiven) {
  testing::TempDir dir;
  std::string file = dir.Write("collector.conf", "data_dir = /from/default\n");
  bool help = false;
  auto cfg = ParseCollectorConfig({}, &help, file);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->options.data_dir, "/from/default");
  EXPECT_EQ(cfg->config_file, file);

  // Absent: no file, and the missing setting is named.
  auto none = ParseCollectorConfig({}, &help, dir.path() + "/absent.conf");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "--data-dir is required");

  // An explicit --config replaces it; /dev/null reads nothing.
  auto empty = ParseCollectorConfig({"--config", "/dev/null", "--data-dir", "/d"}, &help, file);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->options.data_dir, "/d");
}

TEST(ParseCollectorConfig, DefaultsWithoutAFile) {
  auto cfg = Parse({"--data-dir", "/d"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const CollectorOptions defaults;
  EXPECT_EQ(cfg->options.listen, defaults.listen);
  EXPECT_EQ(cfg->options.worker_threads, 4);
  EXPECT_EQ(cfg->options.tsdb.retention_ms, absl::ToInt64Milliseconds(absl::Hours(15 * 24)));
  EXPECT_EQ(cfg->options.tsdb.rollup_retention_ms,
            absl::ToInt64Milliseconds(absl::Hours(400 * 24)));
  EXPECT_EQ(cfg->options.agent_cert_ttl, absl::Hours(7 * 24));
  EXPECT_EQ(cfg->options.max_connections, 0u);
  EXPECT_EQ(cfg->options.max_connections_per_source, 512u);
  EXPECT_EQ(cfg->log_level, "info");
}

// The file the package installs as /etc/steward/collector.conf parses, and
// says what the binary does without it (its commented values are the defaults).
TEST(ParseCollectorConfig, TheShippedFileGivesTheDefaults) {
  auto shipped = Parse({"--config", STEWARD_SOURCE_DIR "/deploy/config/collector.conf"});
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  auto defaults = Parse({"--data-dir", "/var/lib/steward"});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(shipped->options.data_dir, "/var/lib/steward");
  EXPECT_EQ(shipped->options.listen, defaults->options.listen);
  EXPECT_EQ(shipped->options.server_names, defaults->options.server_names);
  EXPECT_EQ(shipped->options.worker_threads, defaults->options.worker_threads);
  EXPECT_EQ(shipped->options.tsdb.retention_ms, defaults->options.tsdb.retention_ms);
  EXPECT_EQ(shipped->options.agent_cert_ttl, defaults->options.agent_cert_ttl);
  EXPECT_EQ(shipped->log_level, defaults->log_level);

  // Each commented value, uncommented, is accepted and is the default.
  auto text = ReadFile(STEWARD_SOURCE_DIR "/deploy/config/collector.conf");
  ASSERT_TRUE(text.ok()) << text.status();
  std::string uncommented;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (absl::StartsWith(line, "#") && absl::StrContains(line, " = ") &&
        !absl::StartsWith(line, "# ") && !absl::StrContains(line, "example.org") &&
        !absl::StrContains(line, "192.0.2.10")) {
      line.remove_prefix(1);
    }
    absl::StrAppend(&uncommented, line, "\n");
  }
  testing::TempDir dir;
  auto all = Parse({"--config", dir.Write("all.conf", uncommented)});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->options.listen, defaults->options.listen);
  EXPECT_EQ(all->options.tsdb.rollup_retention_ms, defaults->options.tsdb.rollup_retention_ms);
  EXPECT_EQ(all->options.max_connections_per_source, defaults->options.max_connections_per_source);
  EXPECT_EQ(all->options.agent_limits.max_new_series_per_minute,
            defaults->options.agent_limits.max_new_series_per_minute);
  EXPECT_EQ(all->options.min_free_disk_bytes, defaults->options.min_free_disk_bytes);
  EXPECT_EQ(defaults->options.min_free_disk_bytes, uint64_t{256} << 20);
}

TEST(ParseCollectorConfig, MinFreeDiskTakesSizes) {
  const std::pair<const char*, uint64_t> good[] = {
      {"0", 0},          {"4096", 4096},           {"512k", 512u << 10}, {"256M", 256u << 20},
      {"64MB", 64u << 20}, {"3GiB", uint64_t{3} << 30}, {"1t", uint64_t{1} << 40}};
  for (const auto& [text, bytes] : good) {
    auto cfg = Parse({"--data-dir", "/d", "--min-free-disk", text});
    ASSERT_TRUE(cfg.ok()) << text << ": " << cfg.status();
    EXPECT_EQ(cfg->options.min_free_disk_bytes, bytes) << text;
  }
  for (const char* bad : {"", "M", "-1M", "1.5G", "10X", "10MBB", "5 G", "99999999999999999999", "20000000T"}) {
    EXPECT_EQ(ErrorOf({"--data-dir", "/d", "--min-free-disk", bad}),
              absl::StrCat("--min-free-disk '", bad, "' is not a size such as 256M, 2G or 0 (off)"))
        << bad;
  }
}

TEST(ParseCollectorConfig, AnUnknownKeyNamesTheFileAndTheKey) {
  testing::TempDir dir;
  std::string file =
      dir.Write("c.conf", "data_dir = /d\nretension = 7d\nlisten_addr = 0.0.0.0:1\n");
  std::string error = ErrorOf({"--config", file});
  EXPECT_TRUE(absl::StrContains(error, file + ": unknown setting(s): retension, listen_addr"))
      << error;
  EXPECT_TRUE(absl::StrContains(error, "known: server_name, data_dir, listen")) << error;
}

TEST(ParseCollectorConfig, ABadValueNamesWhereItCameFrom) {
  testing::TempDir dir;
  struct Case {
    std::string line;
    std::string expected;
  };
  const Case cases[] = {
      {"retention = soon", ": retention = 'soon' is not a duration such as 15d or 12h"},
      {"rollup_retention = -1d", ": rollup_retention = '-1d' is not a duration"},
      {"agent_cert_ttl = 30s", ": agent_cert_ttl = '30s' is not a duration of at least 1m"},
      {"workers = 0", ": workers = '0' is not a number of threads from 1 to 1024"},
      {"workers = many", ": workers = 'many' is not a number of threads"},
      {"max_connections = -5", ": max_connections = '-5' is not a whole number"},
      {"max_series_per_agent = 1e6", ": max_series_per_agent = '1e6' is not a whole number"},
      {"listen = 7443", ": listen = '7443' is not HOST:PORT"},
      {"listen = ::1:7443", ": listen = '::1:7443' is not HOST:PORT"},
      {"log_level = verbose",
       ": log_level = 'verbose' is not one of trace, debug, info, warn, error, off"},
  };
  for (const Case& c : cases) {
    std::string file = dir.Write("c.conf", "data_dir = /d\n" + c.line + "\n");
    std::string error = ErrorOf({"--config", file});
    EXPECT_EQ(error.rfind(file + c.expected, 0), 0u) << c.line << " -> " << error;
  }
  // The same value from a flag names the flag.
  EXPECT_EQ(ErrorOf({"--data-dir", "/d", "--retention", "soon"}),
            "--retention 'soon' is not a duration such as 15d or 12h (0 = forever)");
  // A flag that wins over a good file value is the one checked.
  std::string file = dir.Write("ok.conf", "data_dir = /d\nworkers = 2\n");
  EXPECT_EQ(ErrorOf({"--config", file, "--workers", "x"}),
            "--workers 'x' is not a number of threads from 1 to 1024");
}

TEST(ParseCollectorConfig, ABrokenFileNamesTheLine) {
  testing::TempDir dir;
  std::string file = dir.Write("c.conf", "data_dir = /d\nthis line has no equals sign\n");
  std::string error = ErrorOf({"--config", file});
  EXPECT_EQ(error, file + " line 2: expected 'key = value', found 'this line has no equals sign'");
  // A file given that cannot be read is an error, not skipped.
  auto missing = Parse({"--config", file + ".missing"});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), file + ".missing")) << missing.status();
}

TEST(ParseCollectorConfig, HelpAndVersionNeedNothingElse) {
  bool help = false;
  auto cfg = ParseCollectorConfig({"--help"}, &help, "");
  ASSERT_TRUE(cfg.ok());
  EXPECT_TRUE(help);
  cfg = ParseCollectorConfig({"--version"}, &help, "/nonexistent/but/unread.conf");
  ASSERT_TRUE(cfg.ok());
  EXPECT_TRUE(cfg->show_version);
  EXPECT_TRUE(absl::StrContains(CollectorUsage(), "--config FILE")) << CollectorUsage();
}

}  // namespace
}  // namespace steward::collector
