#pragma once
// Logging setup shared by the binaries: spdlog to stderr with levels.

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace steward {

// Sets the default logger's level from a name: trace, debug, info, warn,
// error, off. Unknown names are an InvalidArgument error.
absl::Status SetupLogging(absl::string_view level, absl::string_view program);

}  // namespace steward
