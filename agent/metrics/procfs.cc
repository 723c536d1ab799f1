#include "agent/metrics/procfs.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::agent {
namespace {

// Walks `text` line by line, counting lines from 1 and dropping a trailing
// '\r'. The final line need not end in '\n'.
class LineCursor {
 public:
  explicit LineCursor(absl::string_view text) : text_(text) {}

  bool Next(absl::string_view* line) {
    if (pos_ >= text_.size()) return false;
    size_t nl = text_.find('\n', pos_);
    size_t end = nl == absl::string_view::npos ? text_.size() : nl;
    *line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_no_;
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    return true;
  }
  size_t line_no() const { return line_no_; }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Splits on runs of spaces and tabs.
std::vector<absl::string_view> Fields(absl::string_view line) {
  std::vector<absl::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    size_t b = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

// Strict decimal: digits only, no sign, no blanks, no overflow.
template <typename T>
bool ParseUnsigned(absl::string_view s, T* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseInt64(absl::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Finite, non-negative decimal ("0.20", "6767.42").
bool ParseNonNegativeDouble(absl::string_view s, double* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, std::chars_format::fixed);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(*out) && *out >= 0;
}

// Parses fields[first..first+n) into `out`; on failure names the bad field.
bool ParseCounters(const std::vector<absl::string_view>& fields, size_t first, size_t n,
                   uint64_t* const* out, std::string* bad) {
  for (size_t i = 0; i < n; ++i) {
    if (!ParseUnsigned(fields[first + i], out[i])) {
      *bad = QuoteInput(fields[first + i]);
      return false;
    }
  }
  return true;
}

bool IsCpuLabel(absl::string_view s) {
  if (s.substr(0, 3) != "cpu") return false;
  for (char c : s.substr(3)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

ProcStat ParseProcStat(absl::string_view text, absl::string_view origin, ParseReport* report) {
  ProcStat out;
  LineCursor cur(text);
  absl::string_view line;
  while (cur.Next(&line)) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.empty()) continue;
    const absl::string_view key = f[0];
    if (IsCpuLabel(key)) {
      if (f.size() < 9) {
        AddLineWarning(report, origin, cur.line_no(),
                       absl::StrCat(QuoteInput(key), " has ", f.size() - 1,
                                    " time columns, want at least 8; skipped"));
        continue;
      }
      CpuTimes t;
      t.cpu = std::string(key);
      uint64_t* const slots[] = {&t.user,   &t.nice, &t.system,  &t.idle,
                                 &t.iowait, &t.irq,  &t.softirq, &t.steal};
      std::string bad;
      if (!ParseCounters(f, 1, 8, slots, &bad)) {
        AddLineWarning(report, origin, cur.line_no(),
                       absl::StrCat(QuoteInput(key), " has non-numeric value ", bad, "; skipped"));
        continue;
      }
      if (key == "cpu") {
        out.total = std::move(t);
      } else {
        out.per_cpu.push_back(std::move(t));
      }
      continue;
    }
    const bool is_btime = key == "btime";
    const bool is_processes = key == "processes";
    const bool is_running = key == "procs_running";
    const bool is_blocked = key == "procs_blocked";
    if (!is_btime && !is_processes && !is_running && !is_blocked) continue;  // intr, ctxt, ...
    bool ok = f.size() == 2;
    if (ok && is_btime) {
      int64_t v = 0;
      ok = ParseInt64(f[1], &v);
      if (ok) out.boot_time = v;
    } else if (ok) {
      uint64_t v = 0;
      ok = ParseUnsigned(f[1], &v);
      if (ok) (is_processes ? out.processes : is_running ? out.procs_running : out.procs_blocked) = v;
    }
    if (!ok) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat(QuoteInput(key), " is not followed by one number (",
                                  QuoteInput(line), "); skipped"));
    }
  }
  return out;
}

MemInfo ParseMeminfo(absl::string_view text, absl::string_view origin, ParseReport* report) {
  MemInfo out;
  LineCursor cur(text);
  absl::string_view line;
  while (cur.Next(&line)) {
    if (Fields(line).empty()) continue;
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("no 'Key:' in ", QuoteInput(line), "; skipped"));
      continue;
    }
    absl::string_view key = line.substr(0, colon);
    std::vector<absl::string_view> f = Fields(line.substr(colon + 1));
    uint64_t v = 0;
    if (f.empty() || f.size() > 2 || !ParseUnsigned(f[0], &v)) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat(QuoteInput(key), " value is not a number with an optional unit (",
                                  QuoteInput(line), "); skipped"));
      continue;
    }
    if (f.size() == 2) {
      if (f[1] != "kB") {
        AddLineWarning(
            report, origin, cur.line_no(),
            absl::StrCat(QuoteInput(key), " has unknown unit ", QuoteInput(f[1]), "; skipped"));
        continue;
      }
      if (v > std::numeric_limits<uint64_t>::max() / 1024) {
        AddLineWarning(report, origin, cur.line_no(),
                       absl::StrCat(QuoteInput(key), " overflows 64 bits in bytes; skipped"));
        continue;
      }
      v *= 1024;
    }
    out.insert_or_assign(std::string(key), v);
  }
  return out;
}

std::optional<LoadAvg> ParseLoadavg(absl::string_view text, absl::string_view origin,
                                    ParseReport* report) {
  LineCursor cur(text);
  absl::string_view line;
  if (!cur.Next(&line)) {
    AddWarning(report, absl::StrCat(origin, ": file is empty"));
    return std::nullopt;
  }
  std::vector<absl::string_view> f = Fields(line);
  LoadAvg out;
  bool ok = f.size() >= 4 && ParseNonNegativeDouble(f[0], &out.load1) &&
            ParseNonNegativeDouble(f[1], &out.load5) && ParseNonNegativeDouble(f[2], &out.load15);
  if (ok) {
    size_t slash = f[3].find('/');
    ok = slash != absl::string_view::npos && ParseUnsigned(f[3].substr(0, slash), &out.running) &&
         ParseUnsigned(f[3].substr(slash + 1), &out.total);
  }
  if (!ok) {
    AddLineWarning(report, origin, cur.line_no(),
                   absl::StrCat("want 'L1 L5 L15 RUNNING/TOTAL ...', got ", QuoteInput(line)));
    return std::nullopt;
  }
  return out;
}

std::optional<Uptime> ParseUptime(absl::string_view text, absl::string_view origin,
                                  ParseReport* report) {
  LineCursor cur(text);
  absl::string_view line;
  if (!cur.Next(&line)) {
    AddWarning(report, absl::StrCat(origin, ": file is empty"));
    return std::nullopt;
  }
  std::vector<absl::string_view> f = Fields(line);
  Uptime out;
  if (f.size() != 2 || !ParseNonNegativeDouble(f[0], &out.uptime_seconds) ||
      !ParseNonNegativeDouble(f[1], &out.idle_seconds)) {
    AddLineWarning(report, origin, cur.line_no(),
                   absl::StrCat("want 'UPTIME IDLE', got ", QuoteInput(line)));
    return std::nullopt;
  }
  return out;
}

std::vector<NetDevCounters> ParseNetDev(absl::string_view text, absl::string_view origin,
                                        ParseReport* report) {
  std::vector<NetDevCounters> out;
  LineCursor cur(text);
  absl::string_view line;
  while (cur.Next(&line)) {
    if (line.find('|') != absl::string_view::npos) continue;  // Header lines.
    if (Fields(line).empty()) continue;
    // "  eth0: 123 ..." (older kernels: "eth0:123"); names cannot hold ':'.
    size_t colon = line.find(':');
    std::vector<absl::string_view> name = colon == absl::string_view::npos
                                              ? std::vector<absl::string_view>()
                                              : Fields(line.substr(0, colon));
    if (name.size() != 1) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("no 'interface:' in ", QuoteInput(line), "; skipped"));
      continue;
    }
    std::vector<absl::string_view> f = Fields(line.substr(colon + 1));
    if (f.size() < 16) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("interface ", QuoteInput(name[0]), " has ", f.size(),
                                  " counters, want 16; skipped"));
      continue;
    }
    NetDevCounters c;
    c.interface = std::string(name[0]);
    // Receive: bytes packets errs drop fifo frame compressed multicast,
    // then Transmit: bytes packets errs drop fifo colls carrier compressed.
    uint64_t ignored = 0;
    uint64_t* const slots[] = {
        &c.rx_bytes, &c.rx_packets, &c.rx_errs, &c.rx_drop, &ignored, &ignored, &ignored, &ignored,
        &c.tx_bytes, &c.tx_packets, &c.tx_errs, &c.tx_drop, &ignored, &ignored, &ignored, &ignored};
    std::string bad;
    if (!ParseCounters(f, 0, 16, slots, &bad)) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("interface ", QuoteInput(name[0]), " has non-numeric counter ",
                                  bad, "; skipped"));
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<DiskStats> ParseDiskstats(absl::string_view text, absl::string_view origin,
                                      ParseReport* report) {
  std::vector<DiskStats> out;
  LineCursor cur(text);
  absl::string_view line;
  while (cur.Next(&line)) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.empty()) continue;
    if (f.size() < 14) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("has ", f.size(), " columns, want at least 14 (",
                                  QuoteInput(line), "); skipped"));
      continue;
    }
    DiskStats d;
    if (!ParseUnsigned(f[0], &d.major) || !ParseUnsigned(f[1], &d.minor)) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("bad device number in ", QuoteInput(line), "; skipped"));
      continue;
    }
    d.device = std::string(f[2]);
    // Columns after the name: 1 reads, 2 merged, 3 sectors read, 4 ms reading,
    // 5 writes, 6 merged, 7 sectors written, 8 ms writing, 9 in flight,
    // 10 ms doing I/O, 11 weighted ms.
    uint64_t ignored = 0;
    uint64_t* const slots[] = {&d.reads_completed,
                               &ignored,
                               &d.sectors_read,
                               &ignored,
                               &d.writes_completed,
                               &ignored,
                               &d.sectors_written,
                               &ignored,
                               &ignored,
                               &d.io_time_ms,
                               &ignored};
    std::string bad;
    if (!ParseCounters(f, 3, 11, slots, &bad)) {
      AddLineWarning(
          report, origin, cur.line_no(),
          absl::StrCat("device ", QuoteInput(f[2]), " has non-numeric counter ", bad, "; skipped"));
      continue;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string DecodeMountEscapes(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) &&
        is_octal(s[i + 3])) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      if (v <= 0xff) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<MountEntry> ParseMounts(absl::string_view text, absl::string_view origin,
                                    ParseReport* report) {
  std::vector<MountEntry> out;
  LineCursor cur(text);
  absl::string_view line;
  while (cur.Next(&line)) {
    std::vector<absl::string_view> f = Fields(line);
    if (f.empty()) continue;
    if (f.size() < 4) {
      AddLineWarning(report, origin, cur.line_no(),
                     absl::StrCat("has ", f.size(), " columns, want at least 4 (", QuoteInput(line),
                                  "); skipped"));
      continue;
    }
    MountEntry m;
    m.device = DecodeMountEscapes(f[0]);
    m.mount_point = DecodeMountEscapes(f[1]);
    m.fstype = std::string(f[2]);
    m.options = std::string(f[3]);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace steward::agent
