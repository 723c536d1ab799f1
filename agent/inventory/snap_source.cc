#include "agent/inventory/snap_source.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/inventory/host_files.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

constexpr char kSnapMount[] = "/snap";
constexpr char kSnapBlobs[] = "/var/lib/snapd/snaps";

absl::string_view Trim(absl::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == absl::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// A scalar value: quotes removed, or a trailing " #comment" dropped.
std::string Scalar(absl::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
    size_t close = v.find(v.front(), 1);
    if (close != absl::string_view::npos) return std::string(v.substr(1, close - 1));
  }
  size_t hash = v.find(" #");
  if (hash != absl::string_view::npos) v = Trim(v.substr(0, hash));
  return std::string(v);
}

bool HasControlBytes(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::optional<SnapYaml> ParseSnapYaml(absl::string_view text, absl::string_view origin,
                                      ParseReport* report) {
  SnapYaml out;
  bool have_name = false, have_version = false, have_arch = false;
  bool in_arch_block = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    absl::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    const bool indented = line.front() == ' ' || line.front() == '\t' || line.front() == '-';
    if (indented) {
      if (in_arch_block && !have_arch && absl::StartsWith(trimmed, "-")) {
        out.arch = Scalar(trimmed.substr(1));
        have_arch = true;
      }
      continue;
    }
    in_arch_block = false;
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view key = Trim(line.substr(0, colon));
    absl::string_view value = Trim(line.substr(colon + 1));
    if (key == "name" && !have_name) {
      out.name = Scalar(value);
      have_name = true;
    } else if (key == "version" && !have_version) {
      out.version = Scalar(value);
      have_version = true;
    } else if (key == "architectures" && !have_arch) {
      if (value.empty()) {
        in_arch_block = true;
      } else if (value.front() == '[') {
        value.remove_prefix(1);
        size_t end = value.find_first_of(",]");
        out.arch = Scalar(value.substr(0, end));
        have_arch = true;
      } else {
        out.arch = Scalar(value);
        have_arch = true;
      }
    }
  }
  if (out.name.empty() || HasControlBytes(out.name)) {
    AddWarning(report, absl::StrCat(origin, ": no usable name, snap skipped"));
    return std::nullopt;
  }
  if (out.version.empty() || HasControlBytes(out.version)) {
    AddWarning(report, absl::StrCat(origin, ": snap ", QuoteInput(out.name),
                                    " has no usable version, skipped"));
    return std::nullopt;
  }
  if (HasControlBytes(out.arch)) out.arch.clear();
  return out;
}

SnapSource::SnapSource(const InventoryOptions& options) : root_(options.root) {}

std::string SnapSource::Fingerprint() {
  std::string fp = StatStamp(UnderRoot(root_, kSnapMount), kSnapMount);
  if (fp.empty()) return fp;
  absl::StatusOr<std::vector<std::string>> names = ListDir(UnderRoot(root_, kSnapMount));
  if (!names.ok()) return fp;
  for (const std::string& n : *names) {
    const std::string current = absl::StrCat(kSnapMount, "/", n, "/current");
    absl::StrAppend(&fp, StatStamp(UnderRoot(root_, current), current, /*follow_symlinks=*/false));
  }
  return fp;
}

absl::StatusOr<std::vector<Package>> SnapSource::Scan(ParseReport* report) {
  std::vector<Package> out;
  absl::StatusOr<std::vector<std::string>> names = ListDir(UnderRoot(root_, kSnapMount));
  if (absl::IsNotFound(names.status())) return out;
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    const std::string current = absl::StrCat(kSnapMount, "/", n, "/current");
    std::optional<std::string> rev = ReadSymlink(UnderRoot(root_, current));
    if (!rev.has_value()) continue;  // /snap/bin, /snap/README, ...
    // The link is relative ("1234"); keep its last component either way.
    std::string revision = rev->substr(rev->rfind('/') + 1);
    const std::string yaml = current + "/meta/snap.yaml";
    absl::StatusOr<std::string> text = ReadFile(UnderRoot(root_, yaml));
    if (!text.ok()) {
      AddWarning(report, absl::StrCat(yaml, ": cannot read (", text.status().message(),
                                      "; snap not mounted?), snap skipped"));
      continue;
    }
    std::optional<SnapYaml> meta = ParseSnapYaml(*text, yaml, report);
    if (!meta.has_value()) continue;
    Package p;
    p.source = "snap";
    p.name = n;
    p.version = std::move(meta->version);
    p.arch = std::move(meta->arch);
    p.status = absl::StrCat("revision ", revision);
    std::optional<FileStat> blob =
        StatPath(UnderRoot(root_, absl::StrCat(kSnapBlobs, "/", n, "_", revision, ".snap")));
    if (blob.has_value()) {
      p.size_bytes = blob->size;
      p.install_time_unix = blob->mtime_unix;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace steward::agent
