#pragma once
// The collector's settings: flags, optionally a config file (`--config
// FILE`, key = value lines, see common/kv_config.h) whose keys are the
// flags' names with '_' for '-' (data_dir, listen, server_name, ...).
// Flags win over the file; server_name values from both add up. Without
// --config, kDefaultCollectorConfig is read when it exists (the package
// installs it, commented: deploy/config/collector.conf).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/service/collector_server.h"

namespace steward::collector {

// The config file read when no --config is given, if it exists.
inline constexpr char kDefaultCollectorConfig[] = "/etc/steward/collector.conf";

struct CollectorConfig {
  CollectorOptions options;
  std::string log_level = "info";
  // The config file the settings were read from ("" for none), for logs.
  std::string config_file;
  // --restore-from DIR: restore that backup into data_dir (which must be
  // new or empty), print a summary and exit without serving
  // (collector/backup/collector_backup.h, docs/backup.md).
  std::string restore_from;
  // --verify-backup DIR: check that backup, print a summary and exit
  // (nothing else is read or needed).
  std::string verify_backup;
  // --version: print VersionText and exit; nothing else is set or checked.
  bool show_version = false;
};

// Parses argv (without argv[0]); `default_config` is read when no --config
// is given and it exists ("": none). Returns the settings, or an error that
// names the bad flag or the file and key, and why. `*help` is set for --help.
absl::StatusOr<CollectorConfig> ParseCollectorConfig(
    const std::vector<std::string>& args, bool* help,
    const std::string& default_config = kDefaultCollectorConfig);

// Usage text for --help and usage errors.
std::string CollectorUsage();

}  // namespace steward::collector
