#include "agent/session/agent_config.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli_args.h"
#include "common/health/check_spec.h"
#include "common/duration.h"
#include "common/file_util.h"
#include "common/kv_config.h"
#include "common/status_macros.h"

namespace steward::agent {
namespace {

struct Raw {
  std::string config, collector, ca_file, enroll_token, enroll_token_file, state_dir, interval, dpkg_status, os_release,
      proc_root, log_level, outbox_max_mb, coredump_dir, artifact_rate, fetch_artifact, dpkg_root,
      self_update_deadline;
  std::vector<std::string> trusted_keys;
  bool version = false;
};

ArgParser MakeParser(Raw* r, bool* help) {
  ArgParser p;
  p.Flag("config", &r->config,
         absl::StrCat("config file with the settings below as 'key = value' (flags win; default ", kDefaultAgentConfig,
                      " when it exists, /dev/null for none)"))
      .Flag("collector", &r->collector, "collector address HOST:PORT")
      .Flag("ca-file", &r->ca_file, "collector CA certificate (the collector's DATA_DIR/ca.pem)")
      .Flag("enroll-token-file", &r->enroll_token_file,
            "file holding the enrollment token (read when enrolling or re-enrolling; also STEWARD_ENROLL_TOKEN)")
      .Flag("enroll-token", &r->enroll_token,
            "enrollment token on the command line (visible in ps: prefer --enroll-token-file)")
      .Flag("state-dir", &r->state_dir, "where the agent keeps its identity")
      .Flag("interval", &r->interval, "collection interval (default 10s)")
      .Flag("dpkg-status", &r->dpkg_status, "dpkg status database (default /var/lib/dpkg/status)")
      .Flag("os-release", &r->os_release, "os-release file (default /etc/os-release)")
      .Flag("proc-root", &r->proc_root, "procfs mount (default /proc)")
      .Flag("coredump-dir", &r->coredump_dir,
            "systemd-coredump store, read for crash signals (default /var/lib/systemd/coredump)")
      .Flag("log-level", &r->log_level, "trace|debug|info|warn|error (default info)")
      .Flag("outbox-max-mb", &r->outbox_max_mb, "bound of the on-disk outbox in MiB (default 64)")
      .Repeated("trusted-key", &r->trusted_keys,
                "publisher public key (PEM, 'stewardctl keys generate' PREFIX.pub) whose signed artifacts this "
                "agent installs and whose signed jobs it runs; repeatable. Without one, no artifact is installed "
                "and no job that changes the host runs")
      .Flag("artifact-rate", &r->artifact_rate,
            "download bandwidth cap for artifacts in bytes per second, with K, M or G (KiB...) (default: none)")
      .Flag("self-update-deadline", &r->self_update_deadline,
            "after updating itself, how long the new agent has to report before the old one is restored "
            "(default 2m)")
      .Flag("dpkg-root", &r->dpkg_root,
            "root directory deployment jobs install packages into (dpkg --root; default: this host)")
      .Flag("fetch-artifact", &r->fetch_artifact,
            "download and verify one artifact (SHA-256) as a deployment would, print its path and exit")
      .Bool("version", &r->version, "print the version, git commit, build type and protocol version, and exit")
      .Bool("help", help, "show this help");
  return p;
}

// "10M" -> 10 MiB; plain numbers are bytes.
bool ParseByteSize(const std::string& text, uint64_t* out) {
  std::string digits = text;
  uint64_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': case 'k': unit = uint64_t{1} << 10; break;
      case 'M': case 'm': unit = uint64_t{1} << 20; break;
      case 'G': case 'g': unit = uint64_t{1} << 30; break;
      default: break;
    }
    if (unit != 1) digits.pop_back();
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n > (uint64_t{1} << 40)) return false;
  *out = n * unit;
  return true;
}

}  // namespace

std::string AgentUsage() {
  Raw r;
  bool help;
  return absl::StrCat(
      "usage: steward-agent --collector HOST:PORT --ca-file CA.pem --state-dir DIR\n"
      "                     [--enroll-token-file FILE] [--interval 10s] [--config FILE]\n"
      "Reports this host's software inventory and metrics to a Steward collector.\n"
      "The first start needs an enrollment token: --enroll-token-file FILE (or enroll_token_file in\n"
      "the config), the STEWARD_ENROLL_TOKEN environment variable, or --enroll-token (shows in ps).\n"
      "Later starts reuse the identity in --state-dir; its certificate is renewed over the session,\n"
      "and the token is used again only after the certificate expired (agent offline too long).\n\n",
      MakeParser(&r, &help).Usage());
}

absl::StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args, bool* help) {
  return ParseAgentConfig(args, help, std::getenv("STEWARD_ENROLL_TOKEN"));
}

absl::StatusOr<std::string> CurrentEnrollToken(const AgentConfig& config) {
  if (config.enroll_token_file.empty()) return config.enroll_token;
  absl::StatusOr<std::string> text = ReadFile(config.enroll_token_file);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("enrollment token file: ", text.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("enrollment token file ", config.enroll_token_file, " is empty"));
  }
  return token;
}

absl::StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args, bool* help,
                                             const char* env_token, const std::string& default_config) {
  Raw r;
  *help = false;
  if (env_token != nullptr && *env_token == '\0') env_token = nullptr;  // set but empty: unset
  std::vector<v1::CheckSpec> checks;
  std::string services_enabled, services_systemctl, services_interval;
  std::string token_source;
  ArgParser parser = MakeParser(&r, help);
  RETURN_IF_ERROR(parser.Parse(args, nullptr));
  if (*help) return AgentConfig{};
  if (r.version) {
    AgentConfig version_only;
    version_only.show_version = true;
    return version_only;
  }
  if (!parser.WasSet("config") && !default_config.empty() && FileExists(default_config)) {
    r.config = default_config;
  }

  if (!r.config.empty()) {
    ASSIGN_OR_RETURN(KvConfig file, KvConfig::Load(r.config));
    std::vector<std::string> unknown = file.UnknownKeys(
        {"collector", "ca_file", "enroll_token", "enroll_token_file", "state_dir", "interval", "dpkg_status", "os_release",
         "proc_root", "log_level", "outbox_max_mb", "coredump_dir", "services.enabled",
         "services.systemctl", "services.interval", "trusted_key", "artifact_rate", "dpkg_root",
         "self_update_deadline"});
    unknown.erase(std::remove_if(unknown.begin(), unknown.end(), [](const std::string& k) { return IsCheckKey(k); }),
                  unknown.end());
    ASSIGN_OR_RETURN(checks, ChecksFromConfig(file, r.config));
    if (!unknown.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(r.config, ": unknown setting(s): ", absl::StrJoin(unknown, ", ")));
    }
    auto fill = [&](const char* flag, const char* key, std::string* out) {
      if (!parser.WasSet(flag) && file.Has(key)) *out = file.Get(key);
    };
    fill("collector", "collector", &r.collector);
    fill("ca-file", "ca_file", &r.ca_file);
    // A token on the command line (or in the environment) wins over both
    // keys of the file.
    if (!parser.WasSet("enroll-token") && !parser.WasSet("enroll-token-file") && env_token == nullptr) {
      if (file.Has("enroll_token") && file.Has("enroll_token_file")) {
        return absl::InvalidArgumentError(
            absl::StrCat(r.config, ": set enroll_token_file or enroll_token, not both"));
      }
      fill("enroll-token", "enroll_token", &r.enroll_token);
      fill("enroll-token-file", "enroll_token_file", &r.enroll_token_file);
      if (!r.enroll_token.empty()) token_source = absl::StrCat("enroll_token in ", r.config);
    }
    fill("state-dir", "state_dir", &r.state_dir);
    fill("interval", "interval", &r.interval);
    fill("dpkg-status", "dpkg_status", &r.dpkg_status);
    fill("os-release", "os_release", &r.os_release);
    fill("proc-root", "proc_root", &r.proc_root);
    fill("coredump-dir", "coredump_dir", &r.coredump_dir);
    fill("log-level", "log_level", &r.log_level);
    fill("outbox-max-mb", "outbox_max_mb", &r.outbox_max_mb);
    fill("artifact-rate", "artifact_rate", &r.artifact_rate);
    fill("dpkg-root", "dpkg_root", &r.dpkg_root);
    fill("self-update-deadline", "self_update_deadline", &r.self_update_deadline);
    // Keys from the file and from flags add up: each names a trusted publisher.
    for (std::string& k : file.GetAll("trusted_key")) r.trusted_keys.push_back(std::move(k));
    if (file.Has("services.enabled")) services_enabled = file.Get("services.enabled");
    if (file.Has("services.systemctl")) services_systemctl = file.Get("services.systemctl");
    if (file.Has("services.interval")) services_interval = file.Get("services.interval");
  }

  AgentConfig cfg;
  if (parser.WasSet("enroll-token") && parser.WasSet("enroll-token-file")) {
    return absl::InvalidArgumentError("give --enroll-token-file or --enroll-token, not both");
  }
  if (parser.WasSet("enroll-token")) {
    token_source = "--enroll-token";
  } else if (!parser.WasSet("enroll-token-file") && env_token != nullptr) {
    r.enroll_token = env_token;
    r.enroll_token_file.clear();
    token_source = "STEWARD_ENROLL_TOKEN";
  }
  if (!r.enroll_token_file.empty()) token_source = r.enroll_token_file;
  cfg.enroll_token_file = r.enroll_token_file;
  cfg.enroll_token_source = token_source;
  // A missing setting says where it can go, the file included when one was read.
  auto required = [&](absl::string_view flag, absl::string_view key, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " is required", what,
                                                   r.config.empty() ? "" : absl::StrCat(" (or '", key, " = ...' in ", r.config, ")")));
  };
  if (r.collector.empty()) return required("--collector HOST:PORT", "collector", "");
  if (r.ca_file.empty()) return required("--ca-file", "ca_file", " (the collector's DATA_DIR/ca.pem)");
  if (r.state_dir.empty()) return required("--state-dir", "state_dir", "");
  cfg.config_file = r.config;
  cfg.checks = std::move(checks);
  cfg.collector = r.collector;
  cfg.ca_file = r.ca_file;
  cfg.enroll_token = r.enroll_token;
  cfg.state_dir = r.state_dir;
  if (!r.interval.empty()) {
    ASSIGN_OR_RETURN(cfg.interval, ParseHumanDuration(r.interval));
    // Sub-second intervals exist for tests that compress hours of cycles
    // into seconds; production intervals are seconds to minutes.
    if (cfg.interval < absl::Milliseconds(100)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--interval ", r.interval, " is below the minimum of 100ms"));
    }
  }
  if (!r.dpkg_status.empty()) cfg.dpkg_status = r.dpkg_status;
  if (!r.os_release.empty()) cfg.os_release = r.os_release;
  if (!r.proc_root.empty()) cfg.proc_root = r.proc_root;
  if (!r.coredump_dir.empty()) cfg.coredump_dir = r.coredump_dir;
  if (!r.log_level.empty()) cfg.log_level = r.log_level;
  if (!r.outbox_max_mb.empty()) {
    uint64_t mb = 0;
    if (!absl::SimpleAtoi(r.outbox_max_mb, &mb) || mb < 1 || mb > 1 << 20) {
      return absl::InvalidArgumentError(
          absl::StrCat("--outbox-max-mb '", r.outbox_max_mb, "' must be a whole number of MiB from 1 to 1048576"));
    }
    cfg.outbox_max_bytes = static_cast<size_t>(mb) << 20;
  }
  cfg.trusted_keys = r.trusted_keys;
  cfg.fetch_artifact = r.fetch_artifact;
  cfg.dpkg_root = r.dpkg_root;
  if (!r.self_update_deadline.empty()) {
    auto d = ParseHumanDuration(r.self_update_deadline);
    if (!d.ok() || *d < absl::Seconds(10) || *d > absl::Hours(1)) {
      return absl::InvalidArgumentError(absl::StrCat("--self-update-deadline '", r.self_update_deadline,
                                                     "' must be a duration from 10s to 1h, e.g. 2m"));
    }
    cfg.self_update_deadline = *d;
  }
  if (!r.artifact_rate.empty()) {
    uint64_t rate = 0;
    if (!ParseByteSize(r.artifact_rate, &rate) || rate < 1024) {
      return absl::InvalidArgumentError(absl::StrCat("--artifact-rate '", r.artifact_rate,
                                                     "' must be bytes per second of at least 1K, e.g. 512K or 10M"));
    }
    cfg.artifact_bytes_per_second = rate;
  }
  if (services_enabled == "false") {
    cfg.services_enabled = false;
  } else if (!services_enabled.empty() && services_enabled != "true") {
    return absl::InvalidArgumentError(
        absl::StrCat(r.config, ": services.enabled = '", services_enabled, "' must be true or false"));
  }
  if (!services_systemctl.empty() && services_systemctl[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(r.config, ": services.systemctl = '", services_systemctl,
                                                   "' must be an absolute path"));
  }
  cfg.services_systemctl = services_systemctl;
  if (!services_interval.empty()) {
    auto d = ParseHumanDuration(services_interval);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(r.config, ": services.interval = '", services_interval,
                                                     "' must be a duration above 0 (e.g. 1m)"));
    }
    cfg.services_interval = *d;
  }
  return cfg;
}

}  // namespace steward::agent
