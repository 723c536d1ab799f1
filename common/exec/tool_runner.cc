#include "common/exec/tool_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace steward {
namespace {

// Waits for `pid`, retrying on EINTR; the raw wait status or -1.
int Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

}  // namespace

namespace {

struct Captured {
  int status = 0;  // raw wait status
  std::string out;
};

// Runs `argv` and collects its stdout (with stderr when `merge_stderr`).
// Beyond `max_output` bytes: fails and kills the child, or, with
// `keep_tail`, keeps only the last max_output bytes and lets it run.
absl::StatusOr<Captured> Capture(const std::vector<std::string>& argv, absl::Duration timeout, size_t max_output,
                                 bool merge_stderr, bool keep_tail) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return absl::InvalidArgumentError("a tool needs an absolute program path");
  }
  const std::string what = absl::StrJoin(argv, " ");
  // Everything the child needs is built before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char env_lc[] = "LC_ALL=C";
  std::string env_path = absl::StrCat("PATH=", kToolPath);
  char* envp[] = {env_lc, env_path.data(), nullptr};

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe for ", what, ": ", strerror(errno)));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(absl::StrCat("fork for ", what, ": ", strerror(err)));
  }
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull < 0) ::_exit(127);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(merge_stderr ? fds[1] : devnull, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execve(args[0], args.data(), envp);
    ::_exit(127);
  }
  ::close(fds[1]);

  Captured c;
  absl::Status failure;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[65536];
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      failure = absl::DeadlineExceededError(
          absl::StrCat(what, " ran longer than ", absl::FormatDuration(timeout), ", killed"));
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      failure = absl::InternalError(absl::StrCat("poll on ", what, ": ", strerror(errno)));
      break;
    }
    if (rc == 0) continue;  // The deadline check above ends the loop.
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      failure = absl::InternalError(absl::StrCat("read from ", what, ": ", strerror(errno)));
      break;
    }
    if (n == 0) break;  // EOF: the child closed its stdout.
    if (c.out.size() + static_cast<size_t>(n) > max_output && !keep_tail) {
      failure = absl::ResourceExhaustedError(
          absl::StrCat(what, " wrote more than ", max_output, " bytes, killed"));
      break;
    }
    c.out.append(buf, static_cast<size_t>(n));
    if (c.out.size() > max_output) c.out.erase(0, c.out.size() - max_output);
  }
  ::close(fds[0]);
  if (!failure.ok()) ::kill(pid, SIGKILL);
  c.status = Reap(pid);
  if (!failure.ok()) return failure;
  if (c.status < 0) return absl::InternalError(absl::StrCat("waitpid for ", what, " failed"));
  if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 127) {
    return absl::NotFoundError(absl::StrCat(what, ": could not be executed (exit 127)"));
  }
  return c;
}

}  // namespace

absl::StatusOr<std::string> RunTool(const std::vector<std::string>& argv, absl::Duration timeout,
                                    size_t max_output) {
  absl::StatusOr<Captured> c = Capture(argv, timeout, max_output, /*merge_stderr=*/false, /*keep_tail=*/false);
  if (!c.ok()) return c.status();
  const std::string what = absl::StrJoin(argv, " ");
  if (WIFSIGNALED(c->status)) {
    return absl::InternalError(absl::StrCat(what, " killed by signal ", WTERMSIG(c->status)));
  }
  if (WEXITSTATUS(c->status) != 0) {
    return absl::InternalError(absl::StrCat(what, " exited with status ", WEXITSTATUS(c->status)));
  }
  return std::move(c->out);
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                                         size_t max_output) {
  absl::StatusOr<Captured> c = Capture(argv, timeout, max_output, /*merge_stderr=*/true, /*keep_tail=*/true);
  if (!c.ok()) return c.status();
  CommandResult r;
  r.exit_code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 128 + WTERMSIG(c->status);
  r.output = std::move(c->out);
  return r;
}

std::string FindTool(const std::string& name) {
  for (absl::string_view dir : absl::StrSplit(kToolPath, ':')) {
    std::string path = absl::StrCat(dir, "/", name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

}  // namespace steward
