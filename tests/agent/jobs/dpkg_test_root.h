#pragma once
// A throwaway root directory dpkg can install into (dpkg --root), with a
// /bin/sh (the host's dash and the libraries it needs) so maintainer
// scripts run in the chroot; and test packages built with dpkg-deb.

#include <string>

namespace steward::agent::testing {

// Creates ROOT/var/lib/dpkg (empty status), ROOT/bin/sh and its libraries.
// Fails the current test (gtest) when something is missing.
void MakeDpkgRoot(const std::string& root);

struct TestDeb {
  std::string name = "demo";
  std::string version = "1.0";
  std::string architecture = "all";
  std::string depends;    // Depends field, empty for none
  std::string conflicts;  // Conflicts field
  std::string postinst;   // script body; empty for none
  std::string file_content;  // written to /usr/share/NAME/version (default: the version)
};

// Builds DIR/NAME_VERSION_ARCH.deb with dpkg-deb and returns its path.
std::string BuildDeb(const std::string& dir, const TestDeb& deb);

}  // namespace steward::agent::testing
