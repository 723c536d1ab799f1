#include "agent/inventory/dpkg_source.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/inventory/dpkg_status.h"
#include "agent/inventory/host_files.h"

namespace steward::agent {

DpkgSource::DpkgSource(const InventoryOptions& options)
    : root_(options.root), status_path_(options.dpkg_status) {}

std::string DpkgSource::Fingerprint() {
  return StatStamp(UnderRoot(root_, status_path_), status_path_);
}

absl::StatusOr<std::vector<Package>> DpkgSource::Scan(ParseReport* report) {
  absl::StatusOr<std::vector<Package>> packages =
      ReadDpkgStatus(UnderRoot(root_, status_path_), report);
  if (absl::IsNotFound(packages.status())) return std::vector<Package>();
  if (!packages.ok()) return packages.status();
  // The info directory sits beside the status file (/var/lib/dpkg/info).
  std::string admin_dir = status_path_.substr(0, status_path_.rfind('/') + 1);
  for (Package& p : *packages) {
    const std::string base = UnderRoot(root_, absl::StrCat(admin_dir, "info/", p.name));
    std::optional<FileStat> st = StatPath(absl::StrCat(base, ".list"));
    if (!st.has_value() && !p.arch.empty()) st = StatPath(absl::StrCat(base, ":", p.arch, ".list"));
    if (st.has_value()) p.install_time_unix = st->mtime_unix;
  }
  return packages;
}

}  // namespace steward::agent
