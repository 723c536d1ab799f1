#include "common/inventory/package_names.h"

#include <algorithm>
#include <iterator>

namespace steward {
namespace {

// The sources whose package names fold case.
constexpr absl::string_view kFoldCaseSources[] = {"pip", "npm"};

}  // namespace

bool PackageNamesFoldCase(absl::string_view source) {
  return std::find(std::begin(kFoldCaseSources), std::end(kFoldCaseSources), source) != std::end(kFoldCaseSources);
}

}  // namespace steward
