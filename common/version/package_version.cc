#include "common/version/package_version.h"

#include "common/version/dpkg_version.h"
#include "common/version/rpm_version.h"

namespace steward {

int ComparePackageVersion(std::string_view source, std::string_view installed, std::string_view wanted) {
  if (source == "dpkg") return CompareDpkgVersionStrings(installed, wanted);
  if (source == "rpm") {
    auto a = ParseRpmEvr(installed);
    auto b = ParseRpmEvr(wanted);
    if (a.ok() && b.ok()) return CompareRpmEvr(*a, *b);
  }
  return RpmVerCmp(installed, wanted);
}

}  // namespace steward
