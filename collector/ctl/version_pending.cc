#include "collector/ctl/command.h"
#include "collector/ctl/commands.h"
namespace steward::ctl {
std::string StewardctlVersionLine() { return "stewardctl (pending)"; }
CommandNoun VersionNoun() { return {"version", "pending", {}}; }
}
