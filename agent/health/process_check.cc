#include "agent/health/process_check.h"

#include "common/health/check_spec.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

// What the check needs from /proc/PID/stat.
struct PidStat {
  char state = '?';
  uint64_t utime = 0;  // Clock ticks.
  uint64_t stime = 0;
};

// "PID (COMM) S ppid ... utime stime ...": the comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
std::optional<PidStat> ParsePidStat(absl::string_view text) {
  size_t close = text.rfind(')');
  if (close == absl::string_view::npos) return std::nullopt;
  std::vector<absl::string_view> f =
      absl::StrSplit(text.substr(close + 1), ' ', absl::SkipWhitespace());
  // f[0] is the state (field 3); utime and stime are fields 14 and 15.
  if (f.size() < 13 || f[0].size() != 1) return std::nullopt;
  PidStat st;
  st.state = f[0][0];
  if (!absl::SimpleAtoi(f[11], &st.utime) || !absl::SimpleAtoi(f[12], &st.stime)) {
    return std::nullopt;
  }
  return st;
}

// Most process names a cmdline or pidfile check remembers for core dumps.
constexpr size_t kMaxComms = 16;

bool IsDead(char state) { return state == 'Z' || state == 'X' || state == 'x'; }

const char* MatchWord(ProcessCheck::Match m) {
  switch (m) {
    case ProcessCheck::Match::kName:
      return "name";
    case ProcessCheck::Match::kCmdline:
      return "cmdline";
    case ProcessCheck::Match::kPidfile:
      return "pidfile";
  }
  return "?";
}

}  // namespace

ProcessCheck::ProcessCheck(std::string check_name, Match match, std::string pattern,
                           int64_t min_count, std::string proc_root, absl::Duration restart_window,
                           std::shared_ptr<CoredumpStore> coredumps, std::string coredump_comm)
    : check_name_(std::move(check_name)),
      match_(match),
      pattern_(std::move(pattern)),
      min_count_(min_count),
      proc_root_(std::move(proc_root)),
      restart_window_(restart_window),
      dumps_(std::move(coredumps), absl::Now()) {
  if (!coredump_comm.empty()) {
    dump_comms_.insert(CommOf(coredump_comm));
    fixed_dump_comm_ = true;
  } else if (match_ == Match::kName) {
    dump_comms_.insert(CommOf(pattern_));
    fixed_dump_comm_ = true;
  }
  long ticks = sysconf(_SC_CLK_TCK);
  ticks_per_second_ = ticks > 0 ? static_cast<double>(ticks) : 100.0;
  long page = sysconf(_SC_PAGESIZE);
  page_size_ = page > 0 ? static_cast<double>(page) : 4096.0;
}

CheckOutcome ProcessCheck::Run(absl::Time now) {
  CheckOutcome out;
  std::vector<std::string> pids;
  std::string pidfile_problem;
  if (match_ == Match::kPidfile) {
    auto text = ReadFile(pattern_);
    int64_t pid = 0;
    if (!text.ok()) {
      pidfile_problem = std::string(text.status().message());
    } else if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
      pidfile_problem = absl::StrCat("pidfile ", pattern_, ": no process id in it");
    } else {
      pids.push_back(absl::StrCat(pid));
    }
  } else {
    DIR* dir = opendir(proc_root_.c_str());
    if (dir == nullptr) {
      out.status = v1::CheckState::DOWN;
      out.reason = absl::StrCat("cannot list ", proc_root_, ": ", strerror(errno));
      return out;
    }
    while (dirent* e = readdir(dir)) {
      absl::string_view n = e->d_name;
      if (!n.empty() && std::all_of(n.begin(), n.end(), absl::ascii_isdigit)) pids.emplace_back(n);
    }
    closedir(dir);
  }

  int64_t count = 0;
  std::set<std::string> matched;
  double cpu_seconds = 0;
  double rss_bytes = 0;
  for (const std::string& pid : pids) {
    const std::string base = absl::StrCat(proc_root_, "/", pid, "/");
    // A process may exit between the directory listing and these reads:
    // anything unreadable just does not count.
    auto stat_text = ReadFile(base + "stat");
    if (!stat_text.ok()) {
      if (match_ == Match::kPidfile) {
        pidfile_problem = absl::StrCat("pidfile ", pattern_, ": process ", pid, " is not running");
      }
      continue;
    }
    auto st = ParsePidStat(*stat_text);
    if (!st) continue;
    if (IsDead(st->state)) {
      if (match_ == Match::kPidfile) {
        pidfile_problem =
            absl::StrCat("pidfile ", pattern_, ": process ", pid, " is a zombie (exited)");
      }
      continue;
    }
    if (match_ == Match::kName) {
      auto comm = ReadFile(base + "comm");
      if (!comm.ok() || absl::StripTrailingAsciiWhitespace(*comm) != pattern_) continue;
    } else if (match_ == Match::kCmdline) {
      auto cmdline = ReadFile(base + "cmdline");
      if (!cmdline.ok()) continue;
      std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
      if (cmdline->find(pattern_) == std::string::npos) continue;
    }
    if (!fixed_dump_comm_ && dump_comms_.size() < kMaxComms && !last_pids_.contains(pid)) {
      // The name its core dumps will carry if this process crashes (read
      // once per process, when it first matches).
      if (auto comm = ReadFile(base + "comm"); comm.ok()) {
        dump_comms_.insert(std::string(absl::StripTrailingAsciiWhitespace(*comm)));
      }
    }
    ++count;
    matched.insert(pid);
    cpu_seconds += static_cast<double>(st->utime + st->stime) / ticks_per_second_;
    auto statm = ReadFile(base + "statm");
    if (statm.ok()) {
      std::vector<absl::string_view> f = absl::StrSplit(*statm, ' ', absl::SkipWhitespace());
      uint64_t resident = 0;
      if (f.size() >= 2 && absl::SimpleAtoi(f[1], &resident)) {
        rss_bytes += static_cast<double>(resident) * page_size_;
      }
    }
  }

  if (seen_once_) {
    for (const auto& pid : last_pids_) {
      if (!matched.contains(pid)) {
        exits_.push_back(now);
        ++exits_total_;
      }
    }
  }
  seen_once_ = true;
  last_pids_ = std::move(matched);
  while (!exits_.empty() && exits_.front() < now - restart_window_) exits_.pop_front();

  const std::vector<CoredumpRecord> dumps = dumps_.Recent(dump_comms_, now, restart_window_);
  std::string crashes;
  if (!exits_.empty()) {
    crashes = absl::StrCat(exits_.size(), exits_.size() == 1 ? " process" : " processes",
                           " exited in the last ", absl::FormatDuration(restart_window_),
                           " (crash or restart loop?)");
  }
  if (!dumps.empty()) {
    absl::StrAppend(&crashes, crashes.empty() ? "" : "; ", "'", dumps.back().comm, "' ",
                    DescribeRecentDumps(dumps, restart_window_));
  }
  if (count >= min_count_ && !crashes.empty()) {
    out.status = v1::CheckState::DEGRADED;
    out.reason = absl::StrCat("running, but ", crashes);
  } else if (count >= min_count_) {
    out.status = v1::CheckState::OK;
  } else {
    out.status = v1::CheckState::DOWN;
    if (!pidfile_problem.empty()) {
      out.reason = pidfile_problem;
    } else if (count == 0) {
      out.reason = absl::StrCat("no process matches ", MatchWord(match_), " '", pattern_, "'");
    } else {
      out.reason =
          absl::StrCat(count, count == 1 ? " process matches " : " processes match ",
                       MatchWord(match_), " '", pattern_, "', expected at least ", min_count_);
    }
    if (!dumps.empty()) absl::StrAppend(&out.reason, "; it ", DescribeRecentDumps(dumps, restart_window_));
  }
  auto labels = CheckLabels(check_name_);
  out.metrics.push_back({"app_process_count", labels, static_cast<double>(count), false});
  out.metrics.push_back({"app_process_cpu_seconds_total", labels, cpu_seconds, true});
  out.metrics.push_back({"app_process_rss_bytes", labels, rss_bytes, false});
  out.metrics.push_back({"app_process_exits_total", labels, static_cast<double>(exits_total_), true});
  out.metrics.push_back({"app_coredumps_total", labels, static_cast<double>(dumps_.total()), true});
  return out;
}

absl::StatusOr<std::unique_ptr<Check>> MakeProcessCheck(const v1::CheckSpec& spec,
                                                        const CheckEnv& env) {
  const auto& p = spec.params();
  ProcessCheck::Match match = ProcessCheck::Match::kName;
  std::string pattern;
  if (auto it = p.find("name"); it != p.end()) {
    pattern = it->second;
  } else if (auto it = p.find("cmdline"); it != p.end()) {
    match = ProcessCheck::Match::kCmdline;
    pattern = it->second;
  } else if (auto it = p.find("pidfile"); it != p.end()) {
    match = ProcessCheck::Match::kPidfile;
    pattern = it->second;
  }
  int64_t min_count = 1;
  if (auto it = p.find("min_count"); it != p.end()) (void)absl::SimpleAtoi(it->second, &min_count);
  std::string coredump_comm;
  if (auto it = p.find("coredump_comm"); it != p.end()) coredump_comm = it->second;
  return std::make_unique<ProcessCheck>(
      spec.name(), match, std::move(pattern), min_count, env.proc_root,
      CheckDurationParam(spec, "restart_window", kDefaultRestartWindow), env.coredumps,
      std::move(coredump_comm));
}

}  // namespace steward::agent
