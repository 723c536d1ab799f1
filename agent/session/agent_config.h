#pragma once
// The agent's settings: flags, optionally a config file (`--config FILE`,
// key = value lines, see common/kv_config.h); flags win over the file.
// Without --config, kDefaultAgentConfig is read when it exists (the
// packages install it, commented: deploy/config/agent.conf).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "steward/v1/types.pb.h"

namespace steward::agent {

// The config file read when no --config is given, if it exists.
inline constexpr char kDefaultAgentConfig[] = "/etc/steward/agent.conf";

struct AgentConfig {
  // The config file the settings were read from ("" for none), for logs.
  std::string config_file;
  std::string collector;       // HOST:PORT of the collector
  std::string ca_file;         // collector CA certificate (PEM)
  // The enrollment token (needed to enroll, and to re-enroll after the
  // certificate expired): read from enroll_token_file when set (at each
  // use, so a renewal token written there later is picked up), otherwise
  // this text (STEWARD_ENROLL_TOKEN, --enroll-token or enroll_token).
  std::string enroll_token;
  std::string enroll_token_file;
  // Where enroll_token came from ("--enroll-token", "STEWARD_ENROLL_TOKEN",
  // "enroll_token in FILE"), for logs.
  std::string enroll_token_source;
  std::string state_dir;       // identity (key, certificate, id)
  absl::Duration interval = absl::Seconds(10);
  std::string dpkg_status = "/var/lib/dpkg/status";
  std::string os_release = "/etc/os-release";
  std::string proc_root = "/proc";
  // systemd-coredump's store, read for the checks' crash signals.
  std::string coredump_dir = "/var/lib/systemd/coredump";
  std::string log_level = "info";
  size_t outbox_max_bytes = 64 << 20;
  // Services inventory (config file: services.enabled, services.systemctl).
  bool services_enabled = true;
  // systemctl to run; empty: systemctl from PATH, only when systemd is PID 1.
  std::string services_systemctl;
  // How often systemctl is asked (services.interval): each run starts a
  // process, so this is longer than the collection interval. A new session
  // always gets a fresh report.
  absl::Duration services_interval = absl::Minutes(1);
  // Publisher public key files (--trusted-key, repeatable; trusted_key in
  // the file): an artifact is installed, and a job that changes the host
  // runs, only with a valid signature by one.
  std::vector<std::string> trusted_keys;
  // Root directory dpkg installs into for jobs (--dpkg-root; dpkg --root):
  // empty for this host. For tests and chroots.
  std::string dpkg_root;
  // One-shot mode (--fetch-artifact SHA256): download and verify one
  // artifact into STATE_DIR/artifacts, print its path, exit.
  std::string fetch_artifact;
  // Download bandwidth cap for artifacts (--artifact-rate); 0: none.
  uint64_t artifact_bytes_per_second = 0;
  // After a self-update, how long the new agent has to report before the
  // watchdog restores the old one (agent/jobs/self_update.h).
  absl::Duration self_update_deadline = absl::Minutes(2);
  // Application checks from the config file (check.NAME.PARAM = VALUE).
  std::vector<v1::CheckSpec> checks;
  // --version: print VersionText and exit; nothing else is set or checked.
  bool show_version = false;
};

// Parses argv (without argv[0]) with the value of STEWARD_ENROLL_TOKEN
// (null: unset) and the file read when no --config is given, if it exists
// ("": none; steward-agent gives kDefaultAgentConfig). Returns the config,
// or an error naming the bad flag, file line or missing setting. `*help` is
// set for --help.
absl::StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args, bool* help,
                                             const char* env_token, const std::string& default_config = "");
// The same with STEWARD_ENROLL_TOKEN from the environment, no default file.
absl::StatusOr<AgentConfig> ParseAgentConfig(const std::vector<std::string>& args, bool* help);

// The enrollment token to use now: enroll_token_file's content (trimmed),
// else enroll_token. Empty when none is configured; an error names an
// unreadable or empty file.
absl::StatusOr<std::string> CurrentEnrollToken(const AgentConfig& config);

// Usage text for --help.
std::string AgentUsage();

}  // namespace steward::agent
