#include "agent/facts/host_facts.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/metrics/procfs.h"
#include "common/file_util.h"

namespace steward::agent {
namespace {

// The CPU model from /proc/cpuinfo: "model name" on x86, "Processor" or
// "cpu model" on some ARM/MIPS kernels, "cpu" on POWER. First match wins.
std::string CpuModelFromCpuinfo(absl::string_view text) {
  static constexpr absl::string_view kKeys[] = {"model name", "Processor", "cpu model", "cpu"};
  absl::string_view found[std::size(kKeys)];
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == absl::string_view::npos ? text.size() : nl;
    absl::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, colon));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (value.empty()) continue;
    for (size_t i = 0; i < std::size(kKeys); ++i) {
      if (key == kKeys[i] && found[i].empty()) found[i] = value;
    }
  }
  for (absl::string_view v : found) {
    if (!v.empty()) return std::string(v);
  }
  return "";
}

}  // namespace

HostFacts CollectHostFacts(const FactsPaths& paths, ParseReport* report) {
  HostFacts facts;

  absl::StatusOr<OsRelease> os = ReadOsRelease(paths.os_release, report);
  if (absl::IsNotFound(os.status()) && !paths.os_release_fallback.empty()) {
    absl::StatusOr<OsRelease> fallback = ReadOsRelease(paths.os_release_fallback, report);
    if (fallback.ok()) {
      os = std::move(fallback);
    } else {
      os = absl::Status(fallback.status().code(),
                        absl::StrCat(os.status().message(), "; ", fallback.status().message()));
    }
  }
  if (os.ok()) {
    facts.os_id = os->id;
    facts.os_name = !os->pretty_name.empty() ? os->pretty_name : os->name;
    facts.os_version = os->version_id;
  } else {
    AddWarning(report, std::string(os.status().message()));
  }

  struct utsname uts;
  if (::uname(&uts) == 0) {
    facts.hostname = uts.nodename;
    facts.kernel = uts.release;
    facts.arch = uts.machine;
  } else {
    AddWarning(report, absl::StrCat("uname: ", strerror(errno)));
  }

  const std::string cpuinfo_path = absl::StrCat(paths.proc_root, "/cpuinfo");
  if (absl::StatusOr<std::string> text = steward::ReadFile(cpuinfo_path); text.ok()) {
    facts.cpu_model = CpuModelFromCpuinfo(*text);
  } else {
    AddWarning(report, std::string(text.status().message()));
  }

  const std::string stat_path = absl::StrCat(paths.proc_root, "/stat");
  if (absl::StatusOr<std::string> text = steward::ReadFile(stat_path); text.ok()) {
    ProcStat st = ParseProcStat(*text, stat_path, report);
    facts.cpu_count = static_cast<int>(st.per_cpu.size());
    if (st.boot_time.has_value()) facts.boot_time_unix = *st.boot_time;
  } else {
    AddWarning(report, std::string(text.status().message()));
  }

  const std::string meminfo_path = absl::StrCat(paths.proc_root, "/meminfo");
  if (absl::StatusOr<std::string> text = steward::ReadFile(meminfo_path); text.ok()) {
    MemInfo mem = ParseMeminfo(*text, meminfo_path, report);
    if (auto it = mem.find("MemTotal"); it != mem.end()) facts.memory_total_bytes = it->second;
  } else {
    AddWarning(report, std::string(text.status().message()));
  }

  facts.hardware = CollectHardwareFacts(paths.sys_root, paths.read_interfaces, report);
  return facts;
}

}  // namespace steward::agent
