#pragma once
// The command table: every stewardctl command, noun by noun. Adding a
// command is one noun file (or one entry in its noun's file) plus, for a
// new noun, one line in command_table.cc.

#include <vector>

#include "collector/ctl/command.h"

namespace steward::ctl {

const std::vector<CommandNoun>& CommandTable();

}  // namespace steward::ctl
