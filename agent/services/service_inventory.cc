#include "agent/services/service_inventory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/exec/systemctl.h"
#include "common/crypto.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

// The unit file state of `name`: its own, or for an instance "a@b.service"
// its template's ("a@.service"), which is what `systemctl enable a@b` sets up.
std::string UnitFileState(const std::map<std::string, std::string>& files, const std::string& name) {
  if (auto it = files.find(name); it != files.end()) return it->second;
  size_t at = name.find('@');
  size_t dot = name.rfind('.');
  if (at == std::string::npos || dot == std::string::npos || dot < at) return "";
  auto it = files.find(absl::StrCat(name.substr(0, at + 1), name.substr(dot)));
  return it == files.end() ? "" : it->second;
}

v1::ServiceReport ToProto(const std::vector<SystemdUnit>& units, bool systemd_present, size_t skipped) {
  v1::ServiceReport r;
  r.set_systemd_present(systemd_present);
  for (const auto& u : units) {
    v1::ServiceUnit* p = r.add_units();
    p->set_name(u.name);
    p->set_description(u.description);
    p->set_load_state(u.load_state);
    p->set_active_state(u.active_state);
    p->set_sub_state(u.sub_state);
    p->set_unit_file_state(u.unit_file_state);
  }
  r.set_digest(ServiceDigest(units, systemd_present));
  r.set_skipped_lines(static_cast<uint32_t>(skipped));
  return r;
}

}  // namespace

const std::vector<std::string> kListUnitsArgs = {
    "list-units", "--all", "--type=service,socket,timer,mount", "--plain", "--no-legend", "--no-pager", "--full"};
const std::vector<std::string> kListUnitFilesArgs = {"list-unit-files", "--plain", "--no-legend", "--no-pager",
                                                     "--full"};

ServicesEnv HostServicesEnv(const std::string& program, const std::string& proc_root) {
  SystemctlOptions options;
  options.program = program;
  options.proc_root = proc_root;
  return {[options](const std::vector<std::string>& args) { return RunSystemctl(args, options); }};
}

std::string ServiceDigest(const std::vector<SystemdUnit>& units, bool systemd_present) {
  // Fields never hold tabs or newlines (ParseListUnits' invariants), so
  // this text is unambiguous.
  std::string text = systemd_present ? "systemd\n" : "no-systemd\n";
  for (const auto& u : units) {
    absl::StrAppend(&text, absl::StrJoin({u.name, u.load_state, u.active_state, u.sub_state, u.unit_file_state,
                                          u.description},
                                         "\t"),
                    "\n");
  }
  return Sha256Hex(text);
}

ServiceInventory::ServiceInventory(ServicesEnv env) : env_(std::move(env)) {}

void ServiceInventory::RefreshUnitFiles(ParseReport* report) {
  auto text = env_.systemctl(kListUnitFilesArgs);
  if (!text.ok()) {
    // The states from the last good read stay; the units are still reported.
    spdlog::warn("services: systemctl list-unit-files: {}", text.status());
    return;
  }
  unit_files_ = ParseListUnitFiles(*text, "systemctl list-unit-files", report);
}

absl::StatusOr<std::optional<std::vector<SystemdUnit>>> ServiceInventory::ReadUnits(bool force,
                                                                                    ParseReport* report) {
  auto text = env_.systemctl(kListUnitsArgs);
  if (absl::IsFailedPrecondition(text.status())) return std::optional<std::vector<SystemdUnit>>();
  if (!text.ok()) return text.status();
  std::vector<SystemdUnit> units = ParseListUnits(*text, "systemctl list-units", report);
  std::string units_digest = ServiceDigest(units, true);
  if (force || units_digest != last_units_digest_ || collections_ % kUnitFilesEvery == 0) {
    RefreshUnitFiles(report);
  }
  last_units_digest_ = std::move(units_digest);
  for (auto& u : units) u.unit_file_state = UnitFileState(unit_files_, u.name);
  return std::optional<std::vector<SystemdUnit>>(std::move(units));
}

std::optional<v1::ServiceReport> ServiceInventory::Collect(bool force, ParseReport* report) {
  // A forced report that systemctl could not produce is owed until it can.
  force = force || force_owed_;
  ParseReport local;
  auto units = ReadUnits(force, &local);
  ++collections_;
  if (!units.ok()) {
    force_owed_ = force;
    std::string error(units.status().message());
    if (error != last_error_) spdlog::warn("services: cannot list the systemd units: {}", error);
    last_error_ = std::move(error);
    return std::nullopt;
  }
  if (!last_error_.empty()) spdlog::info("services: systemctl answers again");
  last_error_.clear();
  force_owed_ = false;
  bool present = units->has_value();
  v1::ServiceReport out = ToProto(present ? **units : std::vector<SystemdUnit>(), present, local.total_warnings());
  if (report != nullptr) {
    for (auto& w : local.warnings) AddWarning(report, std::move(w));
    report->suppressed_warnings += local.suppressed_warnings;
  }
  if (!force && committed_digest_ == out.digest()) return std::nullopt;
  pending_digest_ = out.digest();
  return out;
}

void ServiceInventory::Commit() { committed_digest_ = pending_digest_; }

}  // namespace steward::agent
