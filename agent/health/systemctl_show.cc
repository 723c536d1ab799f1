#include "agent/health/systemctl_show.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_util.h"

extern char** environ;

namespace steward::agent {

SystemdUnitState ParseSystemctlShow(absl::string_view text, absl::string_view origin,
                                    ParseReport* report) {
  SystemdUnitState st;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      AddLineWarning(report, origin, line_no,
                     absl::StrCat("expected Property=value, found ", QuoteInput(line)));
      continue;
    }
    absl::string_view key = line.substr(0, eq);
    absl::string_view value = line.substr(eq + 1);
    auto number = [&](auto* field) {
      std::remove_reference_t<decltype(**field)> v{};
      // systemd prints "[not set]" or an empty value for unset numbers.
      if (value.empty() || value == "[not set]") return;
      if (!absl::SimpleAtoi(value, &v)) {
        AddLineWarning(report, origin, line_no,
                       absl::StrCat(key, ": not a number: ", QuoteInput(value)));
        return;
      }
      *field = v;
    };
    if (key == "LoadState") {
      st.load_state = std::string(value);
    } else if (key == "ActiveState") {
      st.active_state = std::string(value);
    } else if (key == "SubState") {
      st.sub_state = std::string(value);
    } else if (key == "Result") {
      st.result = std::string(value);
    } else if (key == "NRestarts") {
      number(&st.n_restarts);
    } else if (key == "ExecMainCode") {
      number(&st.exec_main_code);
    } else if (key == "ExecMainStatus") {
      number(&st.exec_main_status);
    } else if (key == "ActiveEnterTimestampMonotonic") {
      number(&st.active_enter_monotonic_us);
    }
  }
  return st;
}

namespace {

constexpr size_t kMaxOutput = 64 * 1024;
constexpr absl::Duration kSystemctlTimeout = absl::Seconds(5);

bool SystemdIsPid1() {
  auto comm = ReadFile("/proc/1/comm");
  return comm.ok() && absl::StripAsciiWhitespace(*comm) == "systemd";
}

}  // namespace

absl::StatusOr<std::string> RunSystemctlShow(const std::string& unit) {
  if (!SystemdIsPid1()) return absl::FailedPreconditionError("systemd is not running");
  const std::string what = absl::StrCat("systemctl show ", unit);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat(what, ": pipe: ", strerror(errno)));
  }
  // posix_spawn (vfork + exec) rather than fork: safe in the agent's
  // multi-threaded process and cheap.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {
      "systemctl", "show", "--no-pager", "-p", kSystemctlShowProperties, "--", unit};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "systemctl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return absl::UnavailableError(absl::StrCat(what, ": cannot start systemctl: ", strerror(rc)));
  }

  std::string out;
  bool timed_out = false;
  const absl::Time deadline = absl::Now() + kSystemctlTimeout;
  char buf[4096];
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    ssize_t got = read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    // Past the bound the rest is drained and dropped so systemctl can exit.
    if (out.size() < kMaxOutput) {
      out.append(buf, std::min(static_cast<size_t>(got), kMaxOutput - out.size()));
    }
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::UnavailableError(
        absl::StrCat(what, ": no answer within ", absl::FormatDuration(kSystemctlTimeout)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnavailableError(
        absl::StrCat(what, ": systemctl ",
                     WIFEXITED(status) ? absl::StrCat("exited with status ", WEXITSTATUS(status))
                                       : absl::StrCat("was killed by signal ", WTERMSIG(status))));
  }
  return out;
}

}  // namespace steward::agent
