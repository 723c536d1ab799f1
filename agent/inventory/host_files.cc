#include "agent/inventory/host_files.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"

namespace steward::agent {

std::string UnderRoot(absl::string_view root, absl::string_view host_path) {
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  if (root.empty()) return std::string(host_path);
  if (!host_path.empty() && host_path.front() != '/') return absl::StrCat(root, "/", host_path);
  return absl::StrCat(root, host_path);
}

std::optional<FileStat> StatPath(const std::string& path, bool follow_symlinks) {
  struct stat st;
  int rc = follow_symlinks ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) return std::nullopt;
  FileStat f;
  f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  f.mtime_unix = st.st_mtim.tv_sec;
  f.ctime_unix = st.st_ctim.tv_sec;
  f.size = static_cast<uint64_t>(st.st_size);
  f.is_dir = S_ISDIR(st.st_mode);
  f.is_regular = S_ISREG(st.st_mode);
  f.is_symlink = S_ISLNK(st.st_mode);
  return f;
}

std::string StatStamp(const std::string& path, absl::string_view label, bool follow_symlinks) {
  std::optional<FileStat> st = StatPath(path, follow_symlinks);
  if (!st.has_value()) return "";
  return absl::StrCat(label, " ", st->mtime_ns, " ", st->size, "\n");
}

std::vector<std::string> GlobDirs(absl::string_view root, absl::string_view pattern) {
  std::vector<std::string> current = {""};  // Host paths matched so far.
  for (absl::string_view part : absl::StrSplit(pattern, '/', absl::SkipEmpty())) {
    std::vector<std::string> next;
    const bool wild = part.find_first_of("*?[") != absl::string_view::npos;
    const std::string part_str(part);
    for (const std::string& base : current) {
      if (!wild) {
        next.push_back(absl::StrCat(base, "/", part));
        continue;
      }
      absl::StatusOr<std::vector<std::string>> names = ListDir(UnderRoot(root, base + "/"));
      if (!names.ok()) continue;
      for (const std::string& n : *names) {
        if (::fnmatch(part_str.c_str(), n.c_str(), FNM_PERIOD) == 0) {
          next.push_back(absl::StrCat(base, "/", n));
        }
      }
    }
    current = std::move(next);
    if (current.empty()) break;
  }
  std::vector<std::string> dirs;
  for (std::string& p : current) {
    if (p.empty()) continue;
    std::optional<FileStat> st = StatPath(UnderRoot(root, p));
    if (st.has_value() && st->is_dir) dirs.push_back(std::move(p));
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::optional<std::string> ReadSymlink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace steward::agent
