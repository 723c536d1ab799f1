#include "collector/install/install_catalog.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/exec/tool_runner.h"
#include "common/tls/pki.h"
#include "common/version/dpkg_version.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

absl::StatusOr<std::unique_ptr<InstallCatalog>> InstallCatalog::Create(InstallSettings settings) {
  auto info = InspectCert(settings.ca_pem);
  if (!info.ok()) return absl::InvalidArgumentError(absl::StrCat("collector CA: ", info.status().message()));
  std::unique_ptr<InstallCatalog> catalog(new InstallCatalog(std::move(settings)));
  catalog->ca_sha256_ = info->sha256_fingerprint_hex;
  return catalog;
}

InstallCatalog::Cached InstallCatalog::Inspect(const std::string& path, int64_t mtime_ns, uint64_t size) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second.mtime_ns == mtime_ns && it->second.size == size) return it->second;
  }
  Cached c;
  c.mtime_ns = mtime_ns;
  c.size = size;
  const std::string dpkg_deb = FindTool("dpkg-deb");
  if (dpkg_deb.empty()) {
    spdlog::warn("agent packages: dpkg-deb is not installed here; no package can be served");
    return c;  // not cached: looked for again next time
  }
  auto fields = RunTool({dpkg_deb, "--field", path, "Package", "Version", "Architecture"}, absl::Seconds(20));
  std::string package;
  if (fields.ok()) {
    for (absl::string_view line : absl::StrSplit(*fields, '\n')) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
      absl::string_view value = absl::StripAsciiWhitespace(kv.second);
      if (kv.first == "Package") package = std::string(value);
      if (kv.first == "Version") c.meta.set_version(std::string(value));
      if (kv.first == "Architecture") c.meta.set_arch(std::string(value));
    }
  }
  auto sha = fields.ok() ? Sha256OfFile(path) : absl::StatusOr<std::string>(fields.status());
  if (!fields.ok() || !sha.ok()) {
    spdlog::warn("agent packages: skipping {}: {}", path, (fields.ok() ? sha.status() : fields.status()).message());
  } else if (package != "steward-agent" || c.meta.version().empty() || c.meta.arch().empty() ||
             c.meta.arch() == "all") {
    spdlog::warn("agent packages: skipping {}: package '{}' architecture '{}' is not a steward-agent build", path,
                 package, c.meta.arch());
  } else {
    c.usable = true;
    c.meta.set_sha256(*sha);
    c.meta.set_size(size);
    c.meta.set_file_name(path.substr(path.rfind('/') + 1));
  }
  absl::MutexLock lock(&mu_);
  cache_[path] = c;
  return c;
}

std::vector<AgentPackageFile> InstallCatalog::Packages() const {
  std::map<std::string, AgentPackageFile> newest;  // by arch
  std::vector<std::string> names;  // paths
  std::vector<std::string> dirs = {settings_.packages_dir};
  dirs.insert(dirs.end(), settings_.more_packages_dirs.begin(), settings_.more_packages_dirs.end());
  for (const std::string& d : dirs) {
    DIR* dir = ::opendir(d.c_str());
    if (dir == nullptr) continue;
    while (dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".deb") == 0) names.push_back(absl::StrCat(d, "/", name));
    }
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& path : names) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    Cached c = Inspect(path, int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec,
                       static_cast<uint64_t>(st.st_size));
    if (!c.usable) continue;
    auto it = newest.find(c.meta.arch());
    if (it == newest.end() || CompareDpkgVersionStrings(c.meta.version(), it->second.meta.version()) > 0) {
      newest[c.meta.arch()] = AgentPackageFile{c.meta, path};
    }
  }
  std::vector<AgentPackageFile> out;
  for (auto& [arch, file] : newest) out.push_back(std::move(file));
  return out;
}

absl::StatusOr<AgentPackageFile> InstallCatalog::PackageFor(absl::string_view arch) const {
  std::vector<AgentPackageFile> all = Packages();
  std::vector<std::string> arches;
  for (auto& p : all) {
    if (p.meta.arch() == arch) return p;
    arches.push_back(p.meta.arch());
  }
  if (arches.empty()) {
    return absl::NotFoundError(absl::StrCat("the collector has no agent package: put steward-agent_*.deb into ",
                                            settings_.packages_dir, " on the collector's host"));
  }
  return absl::NotFoundError(absl::StrCat("no agent package for architecture '", arch,
                                          "'; the collector has: ", absl::StrJoin(arches, ", ")));
}

void InstallCatalog::set_download_url(std::string url) {
  absl::MutexLock lock(&mu_);
  download_url_ = std::move(url);
}

std::string InstallCatalog::download_url() const {
  absl::MutexLock lock(&mu_);
  return download_url_;
}

absl::Status InstallCatalog::Describe(v1::GetInstallInfoResponse* out) const {
  out->set_agent_address(settings_.agent_address);
  out->set_ca_sha256(ca_sha256_);
  out->set_download_url(download_url());
  out->set_packages_dir(settings_.packages_dir);
  for (auto& p : Packages()) *out->add_packages() = p.meta;
  return absl::OkStatus();
}

}  // namespace steward::collector
