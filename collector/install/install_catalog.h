#pragma once
// What the collector hands machines that install an agent: the address
// agents dial, the CA and its fingerprint, the HTTPS download URL, and the
// agent packages found in one directory (DATA_DIR/agent-packages unless
// --agent-packages says otherwise): steward-agent_VERSION_ARCH.deb files
// put there by the operator, and the one the collector's package carries
// (kBundledAgentPackages). The newest version per architecture is served; package fields are read with
// dpkg-deb once per file (cached by size and modification time), so a
// package dropped in is served without a restart.
//
// Thread-safe.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "steward/v1/admin.pb.h"

namespace steward::collector {

struct InstallSettings {
  // HOST:PORT agents dial.
  std::string agent_address;
  // The collector CA certificate, PEM.
  std::string ca_pem;
  // Where the agent packages are: the operator's directory, and others
  // read too (the packaged collector's own copy, kBundledAgentPackages).
  std::string packages_dir;
  std::vector<std::string> more_packages_dirs;
};

// Where the steward-collector package puts the agent package of its build.
inline constexpr char kBundledAgentPackages[] = "/usr/share/steward/agent-packages";

struct AgentPackageFile {
  v1::AgentPackage meta;
  std::string path;
};

class InstallCatalog {
 public:
  // INVALID_ARGUMENT when the CA does not parse.
  static absl::StatusOr<std::unique_ptr<InstallCatalog>> Create(InstallSettings settings);

  const InstallSettings& settings() const { return settings_; }
  // https://HOST:PORT of the HTTPS listener: set once it is bound.
  void set_download_url(std::string url);
  std::string download_url() const;
  // SHA-256 (lower-case hex) of the CA certificate's DER encoding.
  const std::string& ca_sha256() const { return ca_sha256_; }

  // The newest steward-agent package per architecture, by architecture.
  // A file that is not a readable steward-agent package is skipped (and
  // logged once); a missing directory is no packages.
  std::vector<AgentPackageFile> Packages() const;
  // The package for `arch`; NOT_FOUND saying which architectures there are.
  absl::StatusOr<AgentPackageFile> PackageFor(absl::string_view arch) const;

  // Fills GetInstallInfoResponse.
  absl::Status Describe(v1::GetInstallInfoResponse* out) const;

 private:
  explicit InstallCatalog(InstallSettings settings) : settings_(std::move(settings)) {}
  struct Cached {
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    bool usable = false;
    v1::AgentPackage meta;
  };
  // Reads (or takes from the cache) one file's package fields.
  Cached Inspect(const std::string& path, int64_t mtime_ns, uint64_t size) const;

  InstallSettings settings_;
  std::string ca_sha256_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
  std::string download_url_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector
