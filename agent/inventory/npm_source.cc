#include "agent/inventory/npm_source.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/inventory/host_files.h"
#include "agent/inventory/package_json.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

constexpr const char* kModulesPatterns[] = {
    "/usr/lib/node_modules",
    "/usr/local/lib/node_modules",
    "/root/.nvm/versions/node/*/lib/node_modules",
    "/home/*/.nvm/versions/node/*/lib/node_modules",
};

bool HasControlBytes(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

NpmSource::NpmSource(const InventoryOptions& options) : root_(options.root) {
  for (const char* p : kModulesPatterns) patterns_.emplace_back(p);
  for (const std::string& r : options.npm_roots) patterns_.push_back(r);
}

std::vector<std::string> NpmSource::NodeModulesDirs() const {
  std::vector<std::string> dirs;
  std::set<std::string> seen;
  for (const std::string& pattern : patterns_) {
    for (std::string& d : GlobDirs(root_, pattern)) {
      if (seen.insert(d).second) dirs.push_back(std::move(d));
    }
  }
  return dirs;
}

std::vector<std::pair<std::string, std::string>> NpmSource::PackageDirs(
    const std::string& modules_dir, ParseReport* report) const {
  std::vector<std::pair<std::string, std::string>> out;
  absl::StatusOr<std::vector<std::string>> names = ListDir(UnderRoot(root_, modules_dir));
  if (!names.ok()) {
    if (!absl::IsNotFound(names.status()))
      AddWarning(report, std::string(names.status().message()));
    return out;
  }
  for (const std::string& n : *names) {
    if (absl::StartsWith(n, ".")) continue;
    const std::string dir = absl::StrCat(modules_dir, "/", n);
    if (!absl::StartsWith(n, "@")) {
      out.emplace_back(dir, n);
      continue;
    }
    absl::StatusOr<std::vector<std::string>> scoped = ListDir(UnderRoot(root_, dir));
    if (!scoped.ok()) {
      if (!absl::IsNotFound(scoped.status())) {
        AddWarning(report, std::string(scoped.status().message()));
      }
      continue;
    }
    for (const std::string& s : *scoped) {
      if (absl::StartsWith(s, ".")) continue;
      out.emplace_back(absl::StrCat(dir, "/", s), absl::StrCat(n, "/", s));
    }
  }
  return out;
}

std::string NpmSource::Fingerprint() {
  std::string fp;
  for (const std::string& modules : NodeModulesDirs()) {
    absl::StrAppend(&fp, StatStamp(UnderRoot(root_, modules), modules));
    std::string last_scope;
    for (const auto& [dir, rel] : PackageDirs(modules, nullptr)) {
      size_t slash = rel.find('/');
      if (slash != std::string::npos && rel.substr(0, slash) != last_scope) {
        last_scope = rel.substr(0, slash);
        const std::string scope_dir = absl::StrCat(modules, "/", last_scope);
        absl::StrAppend(&fp, StatStamp(UnderRoot(root_, scope_dir), scope_dir));
      }
      const std::string pj = dir + "/package.json";
      absl::StrAppend(&fp, StatStamp(UnderRoot(root_, pj), pj));
    }
  }
  return fp;
}

absl::StatusOr<std::vector<Package>> NpmSource::Scan(ParseReport* report) {
  std::vector<Package> out;
  for (const std::string& modules : NodeModulesDirs()) {
    for (const auto& [dir, rel] : PackageDirs(modules, report)) {
      std::optional<FileStat> dir_st = StatPath(UnderRoot(root_, dir));
      if (!dir_st.has_value() || !dir_st->is_dir) continue;  // A stray file or dangling link.
      const std::string pj = dir + "/package.json";
      const std::string pj_full = UnderRoot(root_, pj);
      std::optional<FileStat> st = StatPath(pj_full);
      if (!st.has_value()) {
        AddWarning(report, absl::StrCat(pj, ": missing, package skipped"));
        continue;
      }
      absl::StatusOr<std::string> text = ReadFile(pj_full);
      if (!text.ok()) {
        AddWarning(report, absl::StrCat(pj, ": cannot read (", text.status().message(),
                                        "), package skipped"));
        continue;
      }
      std::optional<PackageJson> parsed = ParsePackageJson(*text, pj, report);
      if (!parsed.has_value()) continue;
      if (parsed->version.empty()) {
        AddWarning(report, absl::StrCat(pj, ": no \"version\", package skipped"));
        continue;
      }
      if (HasControlBytes(parsed->name) || HasControlBytes(parsed->version)) {
        AddWarning(report, absl::StrCat(pj,
                                        ": control characters in \"name\" or \"version\", "
                                        "package skipped"));
        continue;
      }
      Package p;
      p.source = "npm";
      p.name = parsed->name.empty() ? rel : std::move(parsed->name);
      p.version = std::move(parsed->version);
      p.location = modules;
      p.install_time_unix = st->ctime_unix;
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace steward::agent
