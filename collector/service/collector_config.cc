#include "collector/service/collector_config.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli_args.h"
#include "common/duration.h"
#include "common/file_util.h"
#include "common/kv_config.h"
#include "common/status_macros.h"

namespace steward::collector {
namespace {

// "256M", "2G", "512k", "1048576", "64MiB": powers of 1024.
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(text[digits])) ++digits;
  uint64_t n = 0;
  if (digits == 0 || !absl::SimpleAtoi(text.substr(0, digits), &n)) {
    return absl::InvalidArgumentError("not a size");
  }
  absl::string_view unit = text.substr(digits);
  if (absl::EndsWithIgnoreCase(unit, "ib")) unit.remove_suffix(2);
  else if (absl::EndsWithIgnoreCase(unit, "b")) unit.remove_suffix(1);
  int shift = 0;
  if (unit.empty()) shift = 0;
  else if (unit.size() != 1) return absl::InvalidArgumentError("not a size");
  else if (absl::ascii_tolower(unit[0]) == 'k') shift = 10;
  else if (absl::ascii_tolower(unit[0]) == 'm') shift = 20;
  else if (absl::ascii_tolower(unit[0]) == 'g') shift = 30;
  else if (absl::ascii_tolower(unit[0]) == 't') shift = 40;
  else return absl::InvalidArgumentError("not a size");
  if (shift > 0 && n > (~uint64_t{0} >> shift)) return absl::InvalidArgumentError("too large");
  return n << shift;
}

// The settings as text, before checking; one member per flag.
struct Raw {
  std::string config, data_dir, listen, http_listen, agent_packages,
      workers = "4", retention = "15d", rollup_retention = "400d", agent_cert_ttl = "7d",
      max_connections = "0", per_source = "512", max_series = "20000", new_series = "10000",
      min_free_disk = "256M",
      log_level = "info";
  std::vector<std::string> server_names;
  std::string restore_from;
  std::string verify_backup;
  bool version = false;
};

// One setting: its flag, its key in the file (the flag with '_' for '-'),
// where its text goes, its help. The one list of the collector's settings:
// flags, file keys and usage come from it.
struct Setting {
  const char* flag;
  const char* key;
  std::string Raw::*text;
  const char* help;
};

constexpr Setting kSettings[] = {
    {"data-dir", "data_dir", &Raw::data_dir, "directory for the database, CA and admin.conf"},
    {"listen", "listen", &Raw::listen,
     "address to listen on (default 127.0.0.1:7443; port 0 = any free port)"},
    {"http-listen", "http_listen", &Raw::http_listen,
     "HTTPS address of the agent install endpoints (default: the listen host, the listen port + 1; "
     "off = none)"},
    {"agent-packages", "agent_packages", &Raw::agent_packages,
     "directory of steward-agent_*.deb packages the install endpoints serve (default: DATA_DIR/agent-packages "
     "and the packaged collector's /usr/share/steward/agent-packages)"},
    {"workers", "workers", &Raw::workers, "worker threads for storage and signing (default 4)"},
    {"retention", "retention", &Raw::retention,
     "how long raw samples are kept (default 15d; 0 = forever)"},
    {"rollup-retention", "rollup_retention", &Raw::rollup_retention,
     "how long 5m rollups (1h merged from them) are kept (default 400d; 0 = forever)"},
    {"agent-cert-ttl", "agent_cert_ttl", &Raw::agent_cert_ttl,
     "lifetime of agent certificates; agents renew with a third left (default 7d, at least 1m)"},
    {"max-connections", "max_connections", &Raw::max_connections,
     "connections open at once (default 0: the file limit less 256)"},
    {"max-connections-per-source", "max_connections_per_source", &Raw::per_source,
     "connections open at once from one address (default 512)"},
    {"max-series-per-agent", "max_series_per_agent", &Raw::max_series,
     "time series one agent may have (default 20000)"},
    {"max-new-series-per-minute", "max_new_series_per_minute", &Raw::new_series,
     "series one agent may create per minute (default 10000)"},
    {"min-free-disk", "min_free_disk", &Raw::min_free_disk,
     "free space kept on the data directory's filesystem: below it, agents' new data is refused "
     "(RESOURCE_EXHAUSTED; they keep it and retry) until space returns (default 256M; K, M, G, T; 0 = off)"},
    {"log-level", "log_level", &Raw::log_level, "trace|debug|info|warn|error|off (default info)"},
};
// Repeatable: values from the file and from flags add up.
constexpr char kServerNameKey[] = "server_name";

ArgParser MakeParser(Raw* r, bool* help) {
  ArgParser p;
  p.Flag(
      "config", &r->config,
      absl::StrCat(
          "config file with the settings below as 'key = value', keys with '_' for '-' (flags win; "
          "default ",
          kDefaultCollectorConfig, " when it exists, /dev/null for none)"));
  for (const Setting& s : kSettings) p.Flag(s.flag, &(r->*s.text), s.help);
  p.Repeated("server-name", &r->server_names, "extra DNS name or IP for the server certificate")
      .Flag("restore-from", &r->restore_from,
            "restore the backup in this directory (stewardctl admin backup) into --data-dir, which "
            "must be new or empty, then exit; start the collector on --data-dir afterwards")
      .Flag("verify-backup", &r->verify_backup,
            "check the backup in this directory against its MANIFEST (every file's size and SHA-256), print "
            "what it holds and exit: 0 when intact, 1 naming the first bad file")
      .Bool("version", &r->version,
            "print the version, git commit, build type and protocol version, and exit")
      .Bool("help", help, "show this help");
  return p;
}

}  // namespace

std::string CollectorUsage() {
  Raw r;
  bool help;
  return absl::StrCat(
      "usage: steward-collector --data-dir DIR [--listen HOST:PORT] [--config FILE] [flags]\n"
      "Runs the Steward collector. On first start in an empty DIR it creates its CA\n"
      "(DIR/ca.pem, for agents' --ca-file) and DIR/admin.conf (for stewardctl --config).\n\n",
      MakeParser(&r, &help).Usage());
}

absl::StatusOr<CollectorConfig> ParseCollectorConfig(const std::vector<std::string>& args,
                                                     bool* help,
                                                     const std::string& default_config) {
  Raw r;
  *help = false;
  ArgParser parser = MakeParser(&r, help);
  RETURN_IF_ERROR(parser.Parse(args, nullptr));
  CollectorConfig cfg;
  if (*help) return cfg;
  if (r.version) {
    cfg.show_version = true;
    return cfg;
  }
  if (!r.verify_backup.empty()) {  // needs nothing else, reads no config
    cfg.verify_backup = r.verify_backup;
    return cfg;
  }
  if (!parser.WasSet("config") && !default_config.empty() && FileExists(default_config)) {
    r.config = default_config;
  }

  // Where each setting's text came from, for errors: "--retention 'x'" or
  // "FILE: retention = 'x'".
  auto source = [&](const Setting& s) {
    return parser.WasSet(s.flag) || r.config.empty()
               ? absl::StrCat("--", s.flag, " '", r.*s.text, "'")
               : absl::StrCat(r.config, ": ", s.key, " = '", r.*s.text, "'");
  };
  std::vector<std::string> file_names;
  if (!r.config.empty()) {
    ASSIGN_OR_RETURN(KvConfig file, KvConfig::Load(r.config));
    std::vector<absl::string_view> known = {kServerNameKey};
    for (const Setting& s : kSettings) known.push_back(s.key);
    if (std::vector<std::string> unknown = file.UnknownKeys(known); !unknown.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(r.config, ": unknown setting(s): ", absl::StrJoin(unknown, ", "),
                       " (known: ", absl::StrJoin(known, ", "), ")"));
    }
    for (const Setting& s : kSettings) {
      if (!parser.WasSet(s.flag) && file.Has(s.key)) r.*s.text = file.Get(s.key);
    }
    file_names = file.GetAll(kServerNameKey);
  }
  const auto setting = [](const char* flag) {
    return *std::find_if(std::begin(kSettings), std::end(kSettings),
                         [&](const Setting& s) { return absl::string_view(s.flag) == flag; });
  };
  auto bad = [&](const char* flag, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(source(setting(flag)), " ", why));
  };

  CollectorOptions& opts = cfg.options;
  cfg.config_file = r.config;
  if (r.data_dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--data-dir is required",
        r.config.empty() ? "" : absl::StrCat(" (or 'data_dir = ...' in ", r.config, ")")));
  }
  opts.data_dir = r.data_dir;
  cfg.restore_from = r.restore_from;
  if (!r.listen.empty()) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(r.listen, &host, &port).ok()) {
      return bad("listen", "is not HOST:PORT, e.g. 0.0.0.0:7443, 127.0.0.1:7443 or [::]:7443");
    }
    opts.listen = r.listen;
  }
  if (!r.http_listen.empty() && r.http_listen != "off") {
    std::string host;
    int port = 0;
    if (!SplitHostPort(r.http_listen, &host, &port).ok()) {
      return bad("http-listen", "is not HOST:PORT (e.g. 0.0.0.0:7444) or off");
    }
  }
  opts.http_listen = r.http_listen;
  opts.agent_packages_dir = r.agent_packages;
  opts.server_names = std::move(file_names);
  opts.server_names.insert(opts.server_names.end(), r.server_names.begin(), r.server_names.end());

  if (!absl::SimpleAtoi(r.workers, &opts.worker_threads) || opts.worker_threads < 1 ||
      opts.worker_threads > 1024) {
    return bad("workers", "is not a number of threads from 1 to 1024");
  }
  for (auto [flag, out] :
       {std::tuple{"max-connections", &opts.max_connections},
        std::tuple{"max-connections-per-source", &opts.max_connections_per_source},
        std::tuple{"max-series-per-agent", &opts.agent_limits.max_series},
        std::tuple{"max-new-series-per-minute", &opts.agent_limits.max_new_series_per_minute}}) {
    if (!absl::SimpleAtoi(r.*setting(flag).text, out)) {
      return bad(flag, "is not a whole number");
    }
  }
  for (auto [flag, out] : {std::tuple{"retention", &opts.tsdb.retention_ms},
                           std::tuple{"rollup-retention", &opts.tsdb.rollup_retention_ms}}) {
    const std::string& text = r.*setting(flag).text;
    auto d = text.empty() || text == "0" ? absl::StatusOr<absl::Duration>(absl::ZeroDuration())
                                         : ParseHumanDuration(text);
    if (!d.ok() || *d < absl::ZeroDuration())
      return bad(flag, "is not a duration such as 15d or 12h (0 = forever)");
    *out = absl::ToInt64Milliseconds(*d);
  }
  if (auto bytes = ParseByteSize(r.min_free_disk); !bytes.ok()) {
    return bad("min-free-disk", "is not a size such as 256M, 2G or 0 (off)");
  } else {
    opts.min_free_disk_bytes = *bytes;
  }
  if (auto d = ParseHumanDuration(r.agent_cert_ttl); !d.ok() || *d < absl::Minutes(1)) {
    return bad("agent-cert-ttl", "is not a duration of at least 1m, such as 7d or 36h");
  } else {
    opts.agent_cert_ttl = *d;
  }
  static constexpr absl::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), r.log_level) == std::end(kLevels)) {
    return bad("log-level", "is not one of trace, debug, info, warn, error, off");
  }
  cfg.log_level = r.log_level;
  return cfg;
}

}  // namespace steward::collector
