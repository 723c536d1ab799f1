#include "collector/ctl/command_table.h"

namespace steward::ctl {

// Each noun's commands, declared in its own file (token_commands.cc, ...).
CommandNoun TokenNoun();
CommandNoun HostsNoun();
CommandNoun SoftwareNoun();
CommandNoun ChangesNoun();
CommandNoun HealthNoun();
CommandNoun ServicesNoun();
CommandNoun ChecksNoun();
CommandNoun MetricsNoun();
CommandNoun KeysNoun();
CommandNoun ArtifactNoun();
CommandNoun JobNoun();
CommandNoun DeployNoun();
CommandNoun UserNoun();
CommandNoun AuditNoun();
CommandNoun AdminNoun();
CommandNoun InstallNoun();
CommandNoun VersionNoun();
CommandNoun HelpNoun();

const std::vector<CommandNoun>& CommandTable() {
  // In the order `stewardctl help` lists them: from enrolling a host to
  // changing it, then the people and the trail.
  static const std::vector<CommandNoun>* table = new std::vector<CommandNoun>{
      TokenNoun(),   HostsNoun(),  SoftwareNoun(), ChangesNoun(), HealthNoun(),  ServicesNoun(),
      ChecksNoun(),  MetricsNoun(), KeysNoun(),    ArtifactNoun(), JobNoun(),    DeployNoun(),
      InstallNoun(), UserNoun(),    AuditNoun(),  AdminNoun(),   VersionNoun(),  HelpNoun(),
  };
  return *table;
}

}  // namespace steward::ctl
