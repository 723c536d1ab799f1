#include "agent/health/coredumps.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/parse_report.h"
#include "common/duration.h"
#include "spdlog/spdlog.h"

namespace steward::agent {
namespace {

constexpr absl::string_view kCompressionSuffixes[] = {".zst", ".xz", ".lz4"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undoes systemd's xescape(): "\xNN" becomes the byte; any other backslash
// is kept as it is (systemd never writes one unescaped, but a file name can
// hold anything).
std::string Unescape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && HexValue(s[i + 2]) >= 0 &&
        HexValue(s[i + 3]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 2]) * 16 + HexValue(s[i + 3])));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsHex32(absl::string_view s) {
  return s.size() == 32 &&
         std::all_of(s.begin(), s.end(), [](char c) { return HexValue(c) >= 0; });
}

}  // namespace

std::string CommOf(absl::string_view name) {
  return std::string(name.substr(0, std::min(name.size(), kMaxCommBytes)));
}

std::optional<CoredumpRecord> ParseCoredumpFileName(absl::string_view name, std::string* why) {
  auto fail = [why](std::string reason) -> std::optional<CoredumpRecord> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  if (!absl::ConsumePrefix(&name, "core.")) return fail("not a core dump file name");
  for (absl::string_view suffix : kCompressionSuffixes) {
    if (absl::ConsumeSuffix(&name, suffix)) break;
  }
  // The comm is escaped, so it holds no '.': exactly five fields remain.
  std::vector<absl::string_view> f = absl::StrSplit(name, '.');
  if (f.size() != 5) {
    return fail(absl::StrCat("expected core.COMM.UID.BOOT_ID.PID.USEC, found ", f.size() + 1,
                             " dot-separated fields"));
  }
  CoredumpRecord r;
  if (f[0].empty()) return fail("empty process name");
  r.comm = Unescape(f[0]);
  if (!absl::SimpleAtoi(f[1], &r.uid)) return fail(absl::StrCat("uid ", QuoteInput(f[1]), " is not a number"));
  if (!IsHex32(f[2])) return fail(absl::StrCat("boot id ", QuoteInput(f[2]), " is not 32 hex digits"));
  r.boot_id = absl::AsciiStrToLower(f[2]);
  if (!absl::SimpleAtoi(f[3], &r.pid) || r.pid <= 0) {
    return fail(absl::StrCat("pid ", QuoteInput(f[3]), " is not a positive number"));
  }
  int64_t usec = 0;
  if (!absl::SimpleAtoi(f[4], &usec) || usec <= 0) {
    return fail(absl::StrCat("time ", QuoteInput(f[4]), " is not a positive number of microseconds"));
  }
  r.time = absl::FromUnixMicros(usec);
  return r;
}

std::string DescribeDump(const CoredumpRecord& dump) {
  return absl::StrCat("pid ", dump.pid, " at ", FormatRfc3339(dump.time));
}

CoredumpStore::CoredumpStore(std::string dir) : dir_(std::move(dir)) {}

uint64_t CoredumpStore::skipped_names() const {
  absl::MutexLock lock(&mu_);
  return skipped_names_;
}

void CoredumpStore::RefreshLocked() {
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR && listed_stamp_.has_value()) {
      spdlog::warn("core dump store {}: {}", dir_, strerror(errno));
    }
    listed_stamp_.reset();
    records_.clear();
    return;
  }
  std::vector<int64_t> stamp = {static_cast<int64_t>(st.st_ino), st.st_mtim.tv_sec,
                                st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
  if (listed_stamp_ == stamp) return;

  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) {
    // Unreadable (not root, and the directory is 0700 root on some hosts):
    // say it once per change of the directory.
    spdlog::warn("core dump store {}: cannot list it: {}", dir_, strerror(errno));
    listed_stamp_ = std::move(stamp);
    records_.clear();
    return;
  }
  std::vector<CoredumpRecord> records;
  std::set<std::string> bad_names;
  while (dirent* e = ::readdir(d)) {
    absl::string_view n = e->d_name;
    // ".", "..", and systemd's temporary ".#core..." files while it writes.
    if (n.empty() || n[0] == '.') continue;
    std::string why;
    if (auto r = ParseCoredumpFileName(n, &why)) {
      records.push_back(std::move(*r));
    } else if (bad_names.size() < ParseReport::kMaxWarnings) {
      // Warn about a bad name once, not at every change of the directory.
      if (!bad_names_.contains(std::string(n))) {
        ++skipped_names_;
        spdlog::warn("core dump store {}: skipped file {}: {}", dir_, QuoteInput(n), why);
      }
      bad_names.emplace(n);
    }
  }
  ::closedir(d);
  std::sort(records.begin(), records.end(),
            [](const CoredumpRecord& a, const CoredumpRecord& b) { return a.time < b.time; });
  records_ = std::move(records);
  bad_names_ = std::move(bad_names);
  listed_stamp_ = std::move(stamp);
}

std::vector<CoredumpRecord> CoredumpStore::DumpsOf(absl::string_view comm, absl::Time since) {
  const std::string want = CommOf(comm);
  absl::MutexLock lock(&mu_);
  RefreshLocked();
  std::vector<CoredumpRecord> out;
  for (const CoredumpRecord& r : records_) {
    if (r.time >= since && CommOf(r.comm) == want) out.push_back(r);
  }
  return out;
}

CoredumpTracker::CoredumpTracker(std::shared_ptr<CoredumpStore> store, absl::Time created)
    : store_(std::move(store)), created_(created) {}

std::vector<CoredumpRecord> CoredumpTracker::Recent(const std::set<std::string>& comms,
                                                    absl::Time now, absl::Duration window) {
  std::vector<CoredumpRecord> recent;
  if (store_ == nullptr) return recent;
  const absl::Time since = now - window;
  for (const std::string& comm : comms) {
    for (CoredumpRecord& r : store_->DumpsOf(comm, since)) {
      if (r.time > now) continue;  // Clock steps: a dump "from the future" waits.
      if (r.time >= created_ && counted_.emplace(r.pid, r.time).second) ++total_;
      recent.push_back(std::move(r));
    }
  }
  // A dump leaves the window for good, so its key is not needed any more.
  std::erase_if(counted_, [since](const auto& key) { return key.second < since; });
  std::sort(recent.begin(), recent.end(),
            [](const CoredumpRecord& a, const CoredumpRecord& b) { return a.time < b.time; });
  return recent;
}

std::string DescribeRecentDumps(const std::vector<CoredumpRecord>& dumps, absl::Duration window) {
  if (dumps.empty()) return "";
  return absl::StrCat("dumped core ", dumps.size(), dumps.size() == 1 ? " time" : " times",
                      " in the last ", absl::FormatDuration(window),
                      " (latest: ", DescribeDump(dumps.back()), ")");
}

}  // namespace steward::agent
