#pragma once
// A throwaway root directory dpkg can install into (dpkg --root), with a
// /bin/sh (the host's dash and the libraries it needs) so maintainer
// scripts run in the chroot; and test packages built with dpkg-deb.

#include <string>
#include <vector>

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

// Builds DIR/NAME-VERSION-1.noarch.rpm with rpmbuild (release 1, noarch,
// /usr/share/NAME/version; `post` as its %post scriptlet) and returns its path.
std::string BuildRpm(const std::string& dir, const std::string& name, const std::string& version,
                     const std::string& post = "", const std::string& provides = "");

// A flat apt repository in REPO holding `debs` (built with BuildDeb; a
// Packages index written here), and ROOT set up for apt (AptBackend with
// that root): sources.list naming the repository, and apt's directories.
void MakeAptRepo(const std::string& repo, const std::vector<std::string>& debs, const std::string& root);

}  // namespace steward::agent::testing
