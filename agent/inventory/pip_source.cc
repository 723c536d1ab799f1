#include "agent/inventory/pip_source.h"

#include <stdlib.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/inventory/host_files.h"
#include "agent/inventory/pip_metadata.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

// Where interpreters keep their distributions. Debian's system Python uses
// dist-packages (/usr/lib/python3/dist-packages for packages from apt),
// Fedora puts compiled ones under lib64.
constexpr const char* kSitePatterns[] = {
    "/usr/lib/python[23]*/site-packages",
    "/usr/lib/python[23]*/dist-packages",
    "/usr/lib64/python[23]*/site-packages",
    "/usr/local/lib/python[23]*/site-packages",
    "/usr/local/lib/python[23]*/dist-packages",
    "/usr/local/lib64/python[23]*/site-packages",
    "/root/.local/lib/python*/site-packages",
    "/home/*/.local/lib/python*/site-packages",
    "/root/.pyenv/versions/*/lib/python*/site-packages",
    "/home/*/.pyenv/versions/*/lib/python*/site-packages",
    "/opt/*/lib/python*/site-packages",
};

// Canonical path for de-duplication; the path itself when it cannot be
// resolved.
std::string Canonical(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return path;
  std::string out(resolved);
  ::free(resolved);
  return out;
}

}  // namespace

PipSource::PipSource(const InventoryOptions& options) : root_(options.root) {
  for (const char* p : kSitePatterns) patterns_.emplace_back(p);
  for (const std::string& prefix : options.python_prefixes) {
    std::string base = prefix;
    while (!base.empty() && base.back() == '/') base.pop_back();
    patterns_.push_back(absl::StrCat(base, "/lib/python*/site-packages"));
    patterns_.push_back(absl::StrCat(base, "/lib/python*/dist-packages"));
  }
}

std::vector<std::string> PipSource::PythonSiteDirs() const {
  // Canonical directory -> the name to report it under: its real name when
  // a pattern matches that, else the first symlinked name found.
  std::vector<std::string> order;
  std::map<std::string, std::string> chosen;
  for (const std::string& pattern : patterns_) {
    for (std::string& dir : GlobDirs(root_, pattern)) {
      const std::string full = UnderRoot(root_, dir);
      const std::string canonical = Canonical(full);
      auto [it, inserted] = chosen.emplace(canonical, dir);
      if (inserted) {
        order.push_back(canonical);
      } else if (full == canonical) {
        it->second = std::move(dir);
      }
    }
  }
  std::vector<std::string> dirs;
  for (const std::string& c : order) dirs.push_back(chosen[c]);
  return dirs;
}

std::string PipSource::Fingerprint() {
  std::string fp;
  for (const std::string& dir : PythonSiteDirs()) {
    absl::StrAppend(&fp, StatStamp(UnderRoot(root_, dir), dir));
  }
  return fp;
}

void PipSource::ScanSiteDir(const std::string& dir, ParseReport* report,
                            std::vector<Package>* out) const {
  const std::string full_dir = UnderRoot(root_, dir);
  absl::StatusOr<std::vector<std::string>> names = ListDir(full_dir);
  if (!names.ok()) {
    if (!absl::IsNotFound(names.status()))
      AddWarning(report, std::string(names.status().message()));
    return;
  }
  // Normalised name -> whether it came from a dist-info.
  std::map<std::string, bool> seen;
  // Two passes: dist-info first, so it wins over an egg-info of the same name.
  for (bool dist_info_pass : {true, false}) {
    const absl::string_view suffix = dist_info_pass ? ".dist-info" : ".egg-info";
    for (const std::string& entry : *names) {
      if (!absl::EndsWith(entry, suffix)) continue;
      const std::string entry_path = absl::StrCat(full_dir, "/", entry);
      const std::string shown = absl::StrCat(dir, "/", entry);
      std::optional<FileStat> st = StatPath(entry_path);
      if (!st.has_value()) continue;  // Dangling symlink or vanished.
      std::string meta_path, meta_shown;
      if (dist_info_pass) {
        if (!st->is_dir) continue;
        meta_path = entry_path + "/METADATA";
        meta_shown = shown + "/METADATA";
      } else if (st->is_dir) {
        meta_path = entry_path + "/PKG-INFO";
        meta_shown = shown + "/PKG-INFO";
      } else {
        meta_path = entry_path;
        meta_shown = shown;
      }
      absl::StatusOr<std::string> text = ReadFile(meta_path);
      if (!text.ok()) {
        AddWarning(report, absl::StrCat(meta_shown, ": cannot read (", text.status().message(),
                                        "), distribution skipped"));
        continue;
      }
      std::optional<PythonMetadata> meta = ParsePythonMetadata(*text, meta_shown, report);
      if (!meta.has_value()) continue;
      const std::string key = NormalizePythonName(meta->name);
      auto [it, inserted] = seen.emplace(key, dist_info_pass);
      if (!inserted) {
        if (it->second == dist_info_pass) {
          AddWarning(report,
                     absl::StrCat(shown, ": another ", suffix, " of ", QuoteInput(meta->name),
                                  " in ", dir, " came first, this one ignored"));
        }
        continue;
      }
      Package p;
      p.source = "pip";
      p.name = std::move(meta->name);
      p.version = std::move(meta->version);
      p.vendor = std::move(meta->author);
      p.location = dir;
      p.install_time_unix = st->mtime_unix;
      if (dist_info_pass) {
        absl::StatusOr<std::string> record = ReadFile(entry_path + "/RECORD");
        if (record.ok()) p.size_bytes = SumRecordSizes(*record, shown + "/RECORD", report);
      }
      out->push_back(std::move(p));
    }
  }
}

absl::StatusOr<std::vector<Package>> PipSource::Scan(ParseReport* report) {
  std::vector<Package> out;
  for (const std::string& dir : PythonSiteDirs()) ScanSiteDir(dir, report, &out);
  return out;
}

}  // namespace steward::agent
