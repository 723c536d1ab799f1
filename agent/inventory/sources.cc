#include "agent/inventory/sources.h"

#include "agent/inventory/dpkg_source.h"
#include "agent/inventory/flatpak_source.h"
#include "agent/inventory/npm_source.h"
#include "agent/inventory/pip_source.h"
#include "agent/inventory/rpm_source.h"
#include "agent/inventory/snap_source.h"

namespace steward::agent {

std::vector<std::unique_ptr<InventorySource>> MakeInventorySources(
    const InventoryOptions& options) {
  std::vector<std::unique_ptr<InventorySource>> sources;
  // The registration list: one line per source.
  sources.push_back(std::make_unique<DpkgSource>(options));
  sources.push_back(std::make_unique<RpmSource>(options));
  sources.push_back(std::make_unique<PipSource>(options));
  sources.push_back(std::make_unique<NpmSource>(options));
  sources.push_back(std::make_unique<SnapSource>(options));
  sources.push_back(std::make_unique<FlatpakSource>(options));
  return sources;
}

}  // namespace steward::agent
