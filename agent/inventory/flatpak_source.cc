#include "agent/inventory/flatpak_source.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/inventory/host_files.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

constexpr const char* kInstallationPatterns[] = {
    "/var/lib/flatpak",
    "/root/.local/share/flatpak",
    "/home/*/.local/share/flatpak",
};

std::vector<std::string> ListOrEmpty(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir);
  if (!names.ok()) return {};
  return *std::move(names);
}

}  // namespace

std::optional<std::string> ParseMetainfoReleaseVersion(absl::string_view xml) {
  size_t pos = 0;
  while (pos < xml.size()) {
    size_t lt = xml.find('<', pos);
    if (lt == absl::string_view::npos) return std::nullopt;
    if (xml.substr(lt, 4) == "<!--") {
      size_t end = xml.find("-->", lt + 4);
      if (end == absl::string_view::npos) return std::nullopt;
      pos = end + 3;
      continue;
    }
    pos = lt + 1;
    if (xml.substr(lt, 8) != "<release" || lt + 8 >= xml.size()) continue;
    char after = xml[lt + 8];
    if (after != ' ' && after != '\t' && after != '\n' && after != '\r') continue;
    size_t gt = xml.find('>', lt);
    absl::string_view tag = xml.substr(lt + 8, gt == absl::string_view::npos ? gt : gt - lt - 8);
    // Find a `version=` attribute (not e.g. `xversion=`).
    size_t a = 0;
    while ((a = tag.find("version", a)) != absl::string_view::npos) {
      const bool starts = a > 0 && (tag[a - 1] == ' ' || tag[a - 1] == '\t' || tag[a - 1] == '\n' ||
                                    tag[a - 1] == '\r');
      size_t v = a + 7;
      while (v < tag.size() && (tag[v] == ' ' || tag[v] == '\t')) ++v;
      a += 7;
      if (!starts || v >= tag.size() || tag[v] != '=') continue;
      ++v;
      while (v < tag.size() && (tag[v] == ' ' || tag[v] == '\t')) ++v;
      if (v >= tag.size() || (tag[v] != '"' && tag[v] != '\'')) return std::nullopt;
      size_t close = tag.find(tag[v], v + 1);
      if (close == absl::string_view::npos) return std::nullopt;
      absl::string_view value = tag.substr(v + 1, close - v - 1);
      if (value.empty()) return std::nullopt;
      for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f) return std::nullopt;
      }
      return std::string(value);
    }
    return std::nullopt;  // The first <release> has no version.
  }
  return std::nullopt;
}

FlatpakSource::FlatpakSource(const InventoryOptions& options) : root_(options.root) {}

std::vector<FlatpakSource::Deployment> FlatpakSource::Deployments() const {
  std::vector<Deployment> out;
  for (const char* pattern : kInstallationPatterns) {
    for (const std::string& inst : GlobDirs(root_, pattern)) {
      for (const char* kind : {"app", "runtime"}) {
        const std::string kind_dir = absl::StrCat(inst, "/", kind);
        for (const std::string& id : ListOrEmpty(UnderRoot(root_, kind_dir))) {
          const std::string id_dir = absl::StrCat(kind_dir, "/", id);
          for (const std::string& arch : ListOrEmpty(UnderRoot(root_, id_dir))) {
            const std::string arch_dir = absl::StrCat(id_dir, "/", arch);
            for (const std::string& branch : ListOrEmpty(UnderRoot(root_, arch_dir))) {
              const std::string dir = absl::StrCat(arch_dir, "/", branch);
              std::optional<FileStat> st =
                  StatPath(UnderRoot(root_, dir + "/active"), /*follow_symlinks=*/false);
              if (!st.has_value()) continue;  // Not a deployment (e.g. "current" links).
              out.push_back(Deployment{dir, kind, id, arch, branch});
            }
          }
        }
      }
    }
  }
  return out;
}

std::string FlatpakSource::Fingerprint() {
  std::string fp;
  for (const Deployment& d : Deployments()) {
    const std::string active = d.dir + "/active";
    absl::StrAppend(&fp, StatStamp(UnderRoot(root_, active), active, /*follow_symlinks=*/false));
  }
  return fp;
}

absl::StatusOr<std::vector<Package>> FlatpakSource::Scan(ParseReport* report) {
  std::vector<Package> out;
  for (const Deployment& d : Deployments()) {
    const std::string active = d.dir + "/active";
    std::optional<FileStat> target = StatPath(UnderRoot(root_, active));
    std::optional<std::string> commit = ReadSymlink(UnderRoot(root_, active));
    if (!target.has_value() || !target->is_dir || !commit.has_value()) {
      AddWarning(report, absl::StrCat(active, ": not a link to a deployed commit, skipped"));
      continue;
    }
    *commit = commit->substr(commit->rfind('/') + 1);
    std::optional<std::string> version;
    for (const char* sub : {"/files/share/metainfo", "/files/share/appdata"}) {
      const std::string meta_dir = active + sub;
      std::vector<std::string> files = ListOrEmpty(UnderRoot(root_, meta_dir));
      // ID.metainfo.xml / ID.appdata.xml first, then any other XML.
      std::stable_partition(files.begin(), files.end(),
                            [&](const std::string& f) { return absl::StartsWith(f, d.id + "."); });
      for (const std::string& f : files) {
        if (!absl::EndsWith(f, ".xml")) continue;
        absl::StatusOr<std::string> xml =
            ReadFile(UnderRoot(root_, absl::StrCat(meta_dir, "/", f)));
        if (!xml.ok()) continue;
        version = ParseMetainfoReleaseVersion(*xml);
        if (version.has_value()) break;
      }
      if (version.has_value()) break;
    }
    Package p;
    p.source = "flatpak";
    p.name = d.id;
    p.arch = d.arch;
    p.version = version.has_value() ? *std::move(version)
                                    : absl::StrCat(d.branch, "-", commit->substr(0, 12));
    p.status = d.kind;
    p.location = d.dir;
    p.install_time_unix = target->mtime_unix;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace steward::agent
