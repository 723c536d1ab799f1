#pragma once
// The inventory sources the agent runs, in one explicit list.

#include <memory>
#include <vector>

#include "agent/inventory/inventory_source.h"

namespace steward::agent {

// One instance of every inventory source, configured by `options`. Adding a
// source is one file pair plus one line in sources.cc.
std::vector<std::unique_ptr<InventorySource>> MakeInventorySources(const InventoryOptions& options);

}  // namespace steward::agent
