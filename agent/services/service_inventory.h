#pragma once
// The services inventory: the host's systemd units (services, sockets,
// timers, mounts) with their load/active/sub states and unit file states,
// read with systemctl and turned into a v1::ServiceReport when something
// changed.
//
// A report goes out when the units or a state differ from the last report
// queued (Commit), and when the caller forces one (each new session, so a
// collector that lost its copy gets it back). The outbox delivers what is
// queued, so "queued" stands for "acked" here. Where systemd does not run,
// the one report says systemd_present = false and lists nothing.
// Not thread-safe: the agent's collection thread owns it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/parse_report.h"
#include "agent/services/unit_list.h"
#include "steward/v1/agent.pb.h"

namespace steward::agent {

// Where the services inventory looks at the host. Tests point it elsewhere.
struct ServicesEnv {
  // Runs systemctl with `args` and returns its stdout. FailedPrecondition
  // means systemd is not running (the source is then empty, silently); any
  // other error is logged and the previous report stands.
  std::function<absl::StatusOr<std::string>(const std::vector<std::string>& args)> systemctl;
};

// The real host: RunSystemctl with `program` (empty: systemctl from the tool
// PATH, and only when systemd is PID 1 under `proc_root`).
ServicesEnv HostServicesEnv(const std::string& program, const std::string& proc_root);

// The arguments of the two listings the inventory reads.
extern const std::vector<std::string> kListUnitsArgs;
extern const std::vector<std::string> kListUnitFilesArgs;

// Hex SHA-256 over the units (every field, in order) and systemd_present.
std::string ServiceDigest(const std::vector<SystemdUnit>& units, bool systemd_present);

class ServiceInventory {
 public:
  explicit ServiceInventory(ServicesEnv env);

  // Reads the units. Returns the report to queue when it differs from the
  // last committed one or `force` is set; nullopt otherwise, and when
  // systemctl failed (logged once per distinct error). Parse warnings go to
  // `report` (may be null).
  std::optional<v1::ServiceReport> Collect(bool force, ParseReport* report);

  // The report of the last Collect was queued: it becomes the base.
  void Commit();

  // Unit file states are re-read when the unit list changes, on a forced
  // collection and at least every this many collections (enabling a unit
  // changes no state list-units shows).
  static constexpr uint64_t kUnitFilesEvery = 30;

 private:
  // The units from list-units, with unit file states merged in; nullopt when
  // systemd is absent. An error when systemctl failed otherwise.
  absl::StatusOr<std::optional<std::vector<SystemdUnit>>> ReadUnits(bool force, ParseReport* report);
  void RefreshUnitFiles(ParseReport* report);

  ServicesEnv env_;
  std::optional<std::string> committed_digest_;
  std::string pending_digest_;
  std::string last_units_digest_;  // of list-units alone, to see when unit files need a re-read
  std::map<std::string, std::string> unit_files_;
  uint64_t collections_ = 0;
  bool force_owed_ = false;
  std::string last_error_;
};

}  // namespace steward::agent
