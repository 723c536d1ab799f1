#include "agent/inventory/rpm_source.h"

#include <charconv>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/inventory/host_files.h"
#include "common/exec/tool_runner.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

constexpr const char* kDatabaseDirs[] = {"/usr/lib/sysimage/rpm", "/var/lib/rpm"};

bool HasControlBytes(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

template <typename T>
bool ParseNumber(absl::string_view s, T* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::vector<Package> ParseRpmQueryOutput(absl::string_view text, absl::string_view origin,
                                         ParseReport* report) {
  std::vector<Package> out;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() != 6) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("expected 6 tab-separated fields, got ", f.size(), " (",
                                  QuoteInput(line), "), skipped"));
      continue;
    }
    // Tabs are the separators; any other control byte is corruption.
    bool bad = f[0].empty();
    for (absl::string_view field : f) bad = bad || HasControlBytes(field);
    if (bad) {
      AddLineWarning(
          report, origin, line_no,
          absl::StrCat("empty name or control characters (", QuoteInput(line), "), skipped"));
      continue;
    }
    absl::string_view version = f[1];
    size_t colon = version.find(':');
    if (colon != absl::string_view::npos) {
      absl::string_view epoch = version.substr(0, colon);
      if (epoch == "0" || epoch == "(none)" || epoch.empty()) version.remove_prefix(colon + 1);
    }
    if (version.empty() || version == "-" || absl::StartsWith(version, "-")) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("package ", QuoteInput(f[0]), " has no version, skipped"));
      continue;
    }
    Package p;
    p.source = "rpm";
    p.name = std::string(f[0]);
    p.version = std::string(version);
    if (f[2] != "(none)") p.arch = std::string(f[2]);
    if (f[3] != "(none)") p.vendor = std::string(f[3]);
    if (f[4] != "(none)" && !ParseNumber(f[4], &p.size_bytes)) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("size ", QuoteInput(f[4]), " of ", QuoteInput(f[0]),
                                  " is not a number, using 0"));
      p.size_bytes = 0;
    }
    if (f[5] != "(none)" && (!ParseNumber(f[5], &p.install_time_unix) || p.install_time_unix < 0)) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("install time ", QuoteInput(f[5]), " of ", QuoteInput(f[0]),
                                  " is not a number, using 0"));
      p.install_time_unix = 0;
    }
    p.status = "installed";
    out.push_back(std::move(p));
  }
  // Install-only packages (several kernels): tell them apart by version.
  std::map<std::pair<std::string, std::string>, int> count;
  for (const Package& p : out) ++count[{p.name, p.arch}];
  for (Package& p : out) {
    if (count[{p.name, p.arch}] > 1) p.location = p.version;
  }
  return out;
}

RpmSource::RpmSource(const InventoryOptions& options)
    : root_(options.root), binary_(options.rpm_binary), timeout_(options.rpm_timeout) {}

std::string RpmSource::DatabaseDir() const {
  for (const char* dir : kDatabaseDirs) {
    std::optional<FileStat> st = StatPath(UnderRoot(root_, dir));
    if (st.has_value() && st->is_dir) return dir;
  }
  return "";
}

std::string RpmSource::Fingerprint() {
  const std::string db = DatabaseDir();
  if (db.empty()) return "";
  std::string fp;
  absl::StatusOr<std::vector<std::string>> names = ListDir(UnderRoot(root_, db));
  if (!names.ok()) return absl::StrCat(db, " unreadable\n");
  for (const std::string& n : *names) {
    if (absl::EndsWith(n, "-shm") || absl::StartsWith(n, "__db.") || n == ".dbenv.lock" ||
        n == ".rpm.lock") {
      continue;
    }
    const std::string path = absl::StrCat(db, "/", n);
    absl::StrAppend(&fp, StatStamp(UnderRoot(root_, path), path));
  }
  return fp;
}

absl::StatusOr<std::vector<Package>> RpmSource::Scan(ParseReport* report) {
  if (DatabaseDir().empty()) return std::vector<Package>();
  const std::string binary = UnderRoot(root_, binary_);
  std::optional<FileStat> st = StatPath(binary);
  if (!st.has_value() || !st->is_regular) return std::vector<Package>();
  std::vector<std::string> argv = {binary, "-qa", "--qf", kRpmQueryFormat};
  if (!root_.empty() && root_ != "/") {
    argv.push_back("--root");
    argv.push_back(root_);
  }
  absl::StatusOr<std::string> output = RunTool(argv, timeout_);
  if (!output.ok()) return output.status();
  return ParseRpmQueryOutput(*output, absl::StrCat(binary_, " -qa"), report);
}

}  // namespace steward::agent
