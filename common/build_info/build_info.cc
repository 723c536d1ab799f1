#include "common/build_info/build_info.h"

#include "absl/strings/str_cat.h"

// From the generated build_commit.cc (build_commit.cmake), outside any
// namespace so the generated file needs no header.
extern const char kStewardGitCommit[];

namespace steward {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo* const info = new BuildInfo{
      .version = STEWARD_VERSION,
      .git_commit = kStewardGitCommit[0] != '\0' ? kStewardGitCommit : "unknown",
      .build_type = STEWARD_BUILD_TYPE[0] != '\0' ? STEWARD_BUILD_TYPE : "unknown",
      .protocol_version = kProtocolVersion,
  };
  return *info;
}

std::string VersionText(std::string_view program) {
  const BuildInfo& info = GetBuildInfo();
  return absl::StrCat(absl::string_view(program.data(), program.size()), " ", info.version,
                      " (commit ", info.git_commit, ", ", info.build_type, ", protocol ",
                      info.protocol_version, ")");
}

}  // namespace steward
