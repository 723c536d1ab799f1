// Crash simulation of the agent's job executor: a kill at every point where
// a crash can stop a job (JobContext::crash_point: before each write of the
// job's record, after the last one, on both sides of each package tool run,
// file write and restart), on real dpkg, apt and rpm in a throwaway root.
//
// A scenario is a host state and a job (install, upgrade, a failing
// upgrade rolled back, a rollback job, write_config, apt_package, rpm). Its
// reference run, without a crash, names its points 1..N. Case (scenario, k1,
// k2, k3): a forked child runs the job and _exit()s at point k1 (nothing
// unwinds, nothing is flushed but what the executor wrote); k1 = 0 is a
// SIGKILL from inside the package's maintainer script, which kills dpkg or
// rpm too, half-way through. When k2 > 0, a second child resumes the job
// (Unfinished(), then the job delivered again) and dies at the resume's
// point k2. Then a new executor resumes it to the end. After that,
// invariants:
// - the job has exactly one final result, the same as without the crash,
//   stored (nothing left unfinished), and asked again it answers the same
//   result, bit for bit, without touching the host (a result is reported
//   once, however often it is asked);
// - the host is exactly as after the reference run: fully at the new state
//   for SUCCEEDED, fully as before for ROLLED_BACK (each scenario's
//   reference shows which, and that they differ);
// - a failed or rolled-back change never reports exit code 0;
// - a job that succeeded after the crash is rolled back by a rollback job
//   (itself killed at its point k3 when k3 > 0, then resumed) to exactly
//   the state before it.
//
// The sweep (EveryCrashPoint/<scenario>) covers every k1 of every
// scenario; SeededDoubleCrashes draws scenario, k1, k2 and k3 from seeds.
// A failure prints the case, the points each run passed and how to replay
// it: STEWARD_CRASH_SIM_CASE=<scenario>:<k1>:<k2>:<k3> (ReplayOneCase) or
// STEWARD_CRASH_SIM_SEED=<seed> (SeededDoubleCrashes).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/jobs/job_executor.h"
#include "agent/jobs/rpm_backend.h"
#include "common/exec/tool_runner.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/agent/jobs/dpkg_test_root.h"
#include "tests/agent/jobs/job_test_fixture.h"
#include "tests/agent/jobs/signed_job.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

using testing::AptJob;
using testing::BuildDeb;
using testing::BuildRpm;
using testing::ConfigJob;
using testing::InstallJob;
using testing::RollbackJob;
using testing::TestDeb;

constexpr int kCrashed = 77;   // a child's exit at its crash point
constexpr int kFinished = 78;  // a child that ran the job to its end

// The world a case runs in: RUN/root (dpkg, apt and rpm --root), RUN/state
// (the agent's), a config file RUN/root/etc/app.conf -> srv/app.conf owned
// by 1234:2345; the packages are built once, outside RUN.
class World {
 public:
  explicit World(std::string base) : base_(std::move(base)) {}

  const std::string& run() const { return run_; }
  std::string root() const { return run_ + "/root"; }
  std::string config_link() const { return root() + "/etc/app.conf"; }
  std::string config_file() const { return root() + "/srv/app.conf"; }

  // The digest of a .deb (built once) or .rpm served as an artifact.
  std::string Deb(const TestDeb& deb) {
    const std::string key = absl::StrCat(deb.name, "_", deb.version);
    if (!debs_.count(key)) debs_[key] = BuildDeb(base_ + "/pkgs", deb);
    return Serve(debs_[key]);
  }
  std::string Rpm(const std::string& version, const std::string& post = "") {
    const std::string key = absl::StrCat("rpm_", version);
    if (!debs_.count(key)) debs_[key] = BuildRpm(base_ + "/pkgs", "demo", version, post);
    return Serve(debs_[key]);
  }
  std::string DebFile(const TestDeb& deb) {
    Deb(deb);
    return debs_[absl::StrCat(deb.name, "_", deb.version)];
  }

  // An empty root (dpkg database, /bin/sh, apt set up for the repository
  // of `apt_debs`, the config file), no state.
  void Fresh(const std::vector<std::string>& apt_debs) {
    std::filesystem::remove_all(run_);
    testing::MakeDpkgRoot(root());
    testing::MakeAptRepo(base_ + "/repo", apt_debs, root());
    ASSERT_TRUE(MakeDirs(root() + "/srv", 0755).ok());
    ASSERT_TRUE(WriteFileAtomic(config_file(), "port = 80\n", 0600).ok());
    ASSERT_EQ(chown(config_file().c_str(), geteuid() == 0 ? 1234 : geteuid(),
                    geteuid() == 0 ? 2345 : getegid()),
              0);
    ASSERT_EQ(symlink("../srv/app.conf", config_link().c_str()), 0);
  }
  // RUN saved as / restored from `name` (cp -a: owners, modes, links).
  void Save(const std::string& name) const { Copy(run_, base_ + "/" + name); }
  void Restore(const std::string& name) const { Copy(base_ + "/" + name, run_); }

  JobExecutor Executor() {
    JobExecutor exec = testing::TestExecutor(&dpkg_, run_ + "/state", &served_);
    exec.set_apt(&apt_);
    exec.set_rpm(&rpm_);
    return exec;
  }

  // Everything a job may change, as text: dpkg's and rpm's package states,
  // and every file under ROOT/usr/share, ROOT/etc and ROOT/srv (type, mode,
  // owner, content or link target).
  std::string Host() const {
    std::string out;
    auto q =
        steward::testing::RunProcess({"dpkg-query", "--admindir=" + root() + "/var/lib/dpkg",
                                      "--show", "--showformat=${Package} ${Status} ${Version}\\n"},
                                     steward::testing::StderrMode::kMerge);
    for (absl::string_view line : absl::StrSplit(q ? q->out : "dpkg-query did not run", '\n')) {
      if (!line.empty() && !absl::StrContains(line, "not-installed"))
        absl::StrAppend(&out, "dpkg: ", line, "\n");
    }
    if (FileExists(root() + "/var/lib/rpm") || FileExists(root() + "/usr/lib/sysimage/rpm")) {
      auto r = steward::testing::RunProcess({"rpm", "--root", root(), "-qa"},
                                            steward::testing::StderrMode::kMerge);
      std::vector<std::string> names = absl::StrSplit(r ? r->out : "", '\n', absl::SkipEmpty());
      std::sort(names.begin(), names.end());
      absl::StrAppend(&out, "rpm: ", absl::StrJoin(names, " "), "\n");
    }
    for (const char* top : {"/usr/share", "/etc", "/srv"}) {
      std::error_code ec;
      std::vector<std::string> paths;
      for (auto it = std::filesystem::recursive_directory_iterator(root() + top, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        paths.push_back(it->path().string());
      }
      std::sort(paths.begin(), paths.end());
      for (const std::string& p : paths) {
        if (absl::StrContains(p, "/etc/apt/")) continue;  // apt's own, set up once
        struct stat st;
        if (lstat(p.c_str(), &st) != 0) continue;
        absl::StrAppendFormat(&out, "%s %o %d:%d ", p.substr(root().size()), st.st_mode, st.st_uid,
                              st.st_gid);
        if (S_ISLNK(st.st_mode)) {
          absl::StrAppend(&out, "-> ", std::filesystem::read_symlink(p, ec).string());
        } else if (S_ISREG(st.st_mode)) {
          absl::StrAppend(&out, ReadFile(p).value_or("(unreadable)"));
        }
        out += "\n";
      }
    }
    return out;
  }

 private:
  std::string Serve(const std::string& file) {
    for (const auto& [sha, f] : served_) {
      if (f == file) return sha;
    }
    const std::string sha = absl::StrFormat("%064x", served_.size() + 1);
    served_[sha] = file;
    return sha;
  }
  static void Copy(const std::string& from, const std::string& to) {
    std::filesystem::remove_all(to);
    auto cp =
        steward::testing::RunProcess({"cp", "-a", from, to}, steward::testing::StderrMode::kMerge);
    ASSERT_TRUE(cp && cp->exit_code == 0) << (cp ? cp->out : "cp did not run");
  }

  std::string base_;
  std::string run_ = base_ + "/run";
  DpkgBackend dpkg_{run_ + "/root"};
  AptBackend apt_{run_ + "/root"};
  RpmBackend rpm_{run_ + "/root"};
  std::map<std::string, std::string> debs_;    // NAME_VERSION -> file
  std::map<std::string, std::string> served_;  // sha -> file
};

// A host state (`setup`, run on a fresh world without crash points) and
// the job under test. `undo`: a rollback job must take a SUCCEEDED one back.
struct Scenario {
  const char* name;
  std::function<void(World&, JobExecutor&)> setup;
  std::function<v1::JobSpec(World&)> job;
  bool undo = false;
  // Its package's maintainer script (kKiller) can kill the agent and the
  // package tool in the middle of their work: case k1 = 0.
  bool killer = false;
};

void MustSucceed(JobExecutor& exec, const v1::JobSpec& spec) {
  v1::JobResult r = exec.Run(spec);
  ASSERT_EQ(r.status(), v1::JOB_SUCCEEDED) << spec.job_id() << ": " << r.message() << r.output();
}

const TestDeb kV1{.version = "1.0"};
const TestDeb kV2{.version = "2.0"};
const TestDeb kV3Fails{.version = "3.0", .postinst = "echo 'demo 3.0: cannot start' >&2; exit 1"};
// When ROOT/agent.pid names the agent (the child of a k1 = 0 case writes
// it), kills it and its parent (dpkg or rpm, mid-configure) with SIGKILL,
// once; otherwise does nothing (chrooted: dash builtins only).
constexpr char kKiller[] =
    "if [ -e /agent.pid ] && [ ! -e /killed ]; then : > /killed; read pid < /agent.pid; "
    "kill -9 $pid $PPID; fi; exit 0";
const TestDeb kV21Killer{.version = "2.1", .postinst = kKiller};

std::vector<Scenario> Scenarios() {
  auto none = [](World&, JobExecutor&) {};
  auto at_v1 = [](World& w, JobExecutor& e) { MustSucceed(e, InstallJob("s1", w.Deb(kV1))); };
  auto at_v2 = [](World& w, JobExecutor& e) {
    MustSucceed(e, InstallJob("s1", w.Deb(kV1)));
    MustSucceed(e, InstallJob("s2", w.Deb(kV2)));
  };
  auto apt_v1 = [](World&, JobExecutor& e) { MustSucceed(e, AptJob("s1", "demo", "1.0")); };
  auto rpm_v1 = [](World& w, JobExecutor& e) {
    RpmBackend rpm(w.root());
    auto sh = rpm.Install(BuildRpm(w.run(), "base", "1", "", "/bin/sh"));
    ASSERT_TRUE(sh.ok() && sh->exit_code == 0) << (sh.ok() ? sh->output : "");
    MustSucceed(e, InstallJob("s1", w.Rpm("1.0"), true));
  };
  return {
      {"deb_install", none, [](World& w) { return InstallJob("j", w.Deb(kV1), true); }, true},
      {"deb_upgrade", at_v1, [](World& w) { return InstallJob("j", w.Deb(kV2), true); }, true},
      {"deb_upgrade_fails_rolled_back", at_v1,
       [](World& w) { return InstallJob("j", w.Deb(kV3Fails), true); }},
      {"deb_install_fails_rolled_back", none,
       [](World& w) { return InstallJob("j", w.Deb(kV3Fails), true); }},
      {"deb_rollback_job", at_v2, [](World&) { return RollbackJob("j", "s2"); }},
      {"config_write", none,
       [](World& w) { return ConfigJob("j", w.config_link(), "port = 8080\n"); }, true},
      {"config_restart_fails_rolled_back", none,
       [](World& w) {
         return ConfigJob("j", w.config_link(), "port = 8080\n", "steward-sim.service", true);
       }},
      {"apt_upgrade", apt_v1, [](World&) { return AptJob("j", "demo", "2.0"); }, true},
      {"apt_upgrade_fails_rolled_back", apt_v1, [](World&) { return AptJob("j", "demo", "3.0"); }},
      {"rpm_upgrade_post_fails_rolled_back", rpm_v1,
       [](World& w) {
         return InstallJob("j", w.Rpm("2.0", "echo 'demo 2.0: cannot start' >&2; exit 1"), true);
       }},
      {"deb_upgrade_killed_in_postinst", at_v1,
       [](World& w) { return InstallJob("j", w.Deb(kV21Killer), true); }, true, true},
      {"apt_install", none, [](World&) { return AptJob("j", "demo", "1.0"); }, true},
      {"apt_upgrade_killed_in_postinst", apt_v1, [](World&) { return AptJob("j", "demo", "2.1"); },
       true, true},
      {"apt_rollback_job",
       [](World&, JobExecutor& e) {
         MustSucceed(e, AptJob("s1", "demo", "1.0"));
         MustSucceed(e, AptJob("s2", "demo", "2.0"));
       },
       [](World&) { return RollbackJob("j", "s2"); }},
      {"config_new_file", none,
       [](World& w) { return ConfigJob("j", w.root() + "/etc/new.conf", "x = 1\n"); }, true},
      {"rpm_upgrade_killed_in_post", rpm_v1,
       [](World& w) { return InstallJob("j", w.Rpm("2.1", kKiller), true); }, true, true},
  };
}

// What one executor run passed through, and how it ended.
struct Leg {
  std::vector<std::string> points;
  bool crashed = false;
};

std::string Describe(const std::vector<std::string>& points, size_t upto = SIZE_MAX) {
  std::string out;
  for (size_t i = 0; i < points.size() && i < upto; ++i)
    absl::StrAppend(&out, "\n      #", i + 1, " ", points[i]);
  return out;
}

class CrashSimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::warn); }

  struct Reference {
    std::string before, after;
    v1::JobResult result;
    std::vector<std::string> points;
  };

  // Prepares scenario `i` (its saved start and reference run) once.
  const Reference& Prepare(size_t i) {
    if (refs_.count(i)) return refs_[i];
    const Scenario& s = scenarios_[i];
    world_.Fresh({world_.DebFile(kV1), world_.DebFile(kV2), world_.DebFile(kV3Fails),
                  world_.DebFile(kV21Killer)});
    {
      JobExecutor setup = world_.Executor();
      s.setup(world_, setup);
    }
    Reference ref;
    ref.before = world_.Host();
    world_.Save(absl::StrCat("start-", i));
    JobExecutor exec = world_.Executor();
    exec.set_crash_point([&](absl::string_view p) { ref.points.emplace_back(p); });
    ref.result = exec.Run(s.job(world_));
    ref.after = world_.Host();
    const v1::JobStatus st = ref.result.status();
    EXPECT_TRUE(st == v1::JOB_SUCCEEDED || st == v1::JOB_ROLLED_BACK)
        << s.name << " reference: " << ref.result.message() << ref.result.output();
    // Fully new for a success, fully old for a rollback of a failed change.
    if (st == v1::JOB_SUCCEEDED) EXPECT_NE(ref.after, ref.before) << s.name;
    if (st == v1::JOB_ROLLED_BACK && s.job(world_).action_case() != v1::JobSpec::kRollback)
      EXPECT_EQ(ref.after, ref.before) << s.name;
    return refs_[i] = std::move(ref);
  }

  // Runs the job (Unfinished() first when `resume`) in a child that dies at
  // its point `crash_at` (0: never), or, with `arm_killer`, wherever the
  // package's kKiller script kills it.
  Leg RunChild(const v1::JobSpec& spec, size_t crash_at, bool resume, bool arm_killer = false) {
    const std::string trace = world_.run() + "/../points";
    std::filesystem::remove(trace);
    const pid_t pid = fork();
    if (pid == 0) {
      if (arm_killer &&
          !WriteFileAtomic(world_.root() + "/agent.pid", absl::StrCat(getpid(), "\n")).ok())
        _exit(1);
      const int fd = open(trace.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      size_t n = 0;
      JobExecutor exec = world_.Executor();
      exec.set_crash_point([&](absl::string_view p) {
        const std::string line = absl::StrCat(p, "\n");
        (void)!write(fd, line.data(), line.size());
        if (++n == crash_at) _exit(kCrashed);  // stop dead
      });
      if (resume) exec.Unfinished();
      exec.Run(spec);
      _exit(kFinished);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Leg leg;
    leg.points = absl::StrSplit(ReadFile(trace).value_or(""), '\n', absl::SkipEmpty());
    const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    leg.crashed = (WIFEXITED(status) && WEXITSTATUS(status) == kCrashed) || killed;
    EXPECT_TRUE(killed || (WIFEXITED(status) &&
                           (WEXITSTATUS(status) == kCrashed || WEXITSTATUS(status) == kFinished)))
        << "the child died otherwise: status " << status;
    std::filesystem::remove(world_.root() + "/agent.pid");
    return leg;
  }

  // One case; an empty string when every invariant holds, else the trace.
  // k1 = 0: killed inside the package's maintainer script (Scenario.killer).
  // k3 > 0: when the job succeeds, its rollback job is killed at its point k3.
  std::string RunCase(size_t i, size_t k1, size_t k2, size_t k3 = 0) {
    const Scenario& s = scenarios_[i];
    const Reference& ref = Prepare(i);
    world_.Restore(absl::StrCat("start-", i));
    const v1::JobSpec spec = s.job(world_);
    std::string trace = absl::StrCat(
        "case ", s.name, ":", k1, ":", k2, ":", k3, " (replay with STEWARD_CRASH_SIM_CASE=", s.name,
        ":", k1, ":", k2, ":", k3, ")\n  reference (", v1::JobStatus_Name(ref.result.status()),
        "):", Describe(ref.points));
    std::vector<std::string> problems;
    Leg first = RunChild(spec, k1, false, k1 == 0);
    absl::StrAppend(
        &trace, "\n  run 1, killed ",
        k1 == 0 ? std::string("inside the maintainer script") : absl::StrCat("at #", k1), ":",
        Describe(first.points));
    if (!first.crashed)
      problems.push_back(k1 == 0 ? std::string("the maintainer script did not kill the agent")
                                 : absl::StrCat("point #", k1, " was never reached"));
    if (k2 > 0) {
      Leg second = RunChild(spec, k2, true);
      absl::StrAppend(&trace, "\n  run 2 (resume), ",
                      second.crashed ? "killed at #" : "finished before #", k2, ":",
                      Describe(second.points));
    }
    // The agent starts again: resumes what is unfinished, and the collector
    // delivers the job again.
    std::vector<std::string> points;
    JobExecutor exec = world_.Executor();
    exec.set_crash_point([&](absl::string_view p) { points.emplace_back(p); });
    exec.Unfinished();
    const v1::JobResult r = exec.Run(spec);
    absl::StrAppend(&trace, "\n  resumed:", Describe(points), "\n  -> ",
                    v1::JobStatus_Name(r.status()), " exit ", r.exit_code(), ": ", r.message());
    const std::string host = world_.Host();
    if (r.status() != ref.result.status())
      problems.push_back(absl::StrCat("final status ", v1::JobStatus_Name(r.status()),
                                      ", without a crash ",
                                      v1::JobStatus_Name(ref.result.status())));
    if (host != ref.after)
      problems.push_back(absl::StrCat("the host is not as after the reference run:\n", host,
                                      "\n  expected:\n", ref.after));
    // A failed or rolled-back change reports the failing command's exit
    // code (-1 when none ran), never 0.
    const bool failed =
        r.status() == v1::JOB_FAILED || (r.status() == v1::JOB_ROLLED_BACK && !spec.has_rollback());
    if (failed && r.exit_code() == 0) problems.push_back("a failed change reports exit code 0");
    if (ref.result.exit_code() > 0 && r.exit_code() != ref.result.exit_code())
      problems.push_back(absl::StrCat("exit code ", r.exit_code(), ", the failing command's is ",
                                      ref.result.exit_code()));
    // One final result, stored: nothing left to resume, and asked again the
    // same answer without a step on the host.
    points.clear();
    JobExecutor again = world_.Executor();
    again.set_crash_point([&](absl::string_view p) { points.emplace_back(p); });
    if (!again.Unfinished().empty())
      problems.push_back("the job is still unfinished after its resume");
    const v1::JobResult r2 = again.Run(spec);
    if (r2.SerializeAsString() != r.SerializeAsString())
      problems.push_back(absl::StrCat("asked again, another result: ", r2.ShortDebugString()));
    if (!points.empty())
      problems.push_back(absl::StrCat("asked again, it acted:", Describe(points)));
    if (world_.Host() != host) problems.push_back("asked again, the host changed");
    // A rollback after the crash restores what was there.
    if (s.undo && r.status() == v1::JOB_SUCCEEDED) {
      const v1::JobSpec undo = RollbackJob("j-rb", spec.job_id());
      if (k3 > 0) {
        Leg killed = RunChild(undo, k3, false);
        absl::StrAppend(&trace, "\n  its rollback job, ",
                        killed.crashed ? "killed at #" : "finished before #", k3, ":",
                        Describe(killed.points));
      }
      JobExecutor resumed = world_.Executor();
      resumed.Unfinished();
      const v1::JobResult rb = resumed.Run(undo);
      if (rb.status() != v1::JOB_ROLLED_BACK)
        problems.push_back(absl::StrCat("its rollback job: ", v1::JobStatus_Name(rb.status()), ": ",
                                        rb.message(), rb.output()));
      if (world_.Host() != ref.before)
        problems.push_back(absl::StrCat("after its rollback job the host is not as before:\n",
                                        world_.Host(), "\n  expected:\n", ref.before));
    }
    if (problems.empty()) return "";
    return absl::StrCat(trace, "\n  broken:\n  - ", absl::StrJoin(problems, "\n  - "));
  }

  size_t ScenarioIndex(absl::string_view name) const {
    for (size_t i = 0; i < scenarios_.size(); ++i) {
      if (name == scenarios_[i].name) return i;
    }
    ADD_FAILURE() << "no scenario " << name;
    return 0;
  }

  steward::testing::TempDir dir_{"steward-crash-sim"};
  World world_{dir_.path()};
  std::vector<Scenario> scenarios_ = Scenarios();
  std::map<size_t, Reference> refs_;
};

// STEWARD_CRASH_SIM_CASE=<scenario>:<k1>:<k2>:<k3> replays one case.
TEST_F(CrashSimTest, ReplayOneCase) {
  const char* env = std::getenv("STEWARD_CRASH_SIM_CASE");
  if (env == nullptr) {
    // Without one, the smallest case: the first scenario, killed at its first point.
    if (const std::string broken = RunCase(0, 1, 0); !broken.empty()) ADD_FAILURE() << broken;
    return;
  }
  std::vector<std::string> f = absl::StrSplit(env, ':');
  size_t k1 = 0, k2 = 0, k3 = 0;
  ASSERT_TRUE(f.size() == 4 && absl::SimpleAtoi(f[1], &k1) && absl::SimpleAtoi(f[2], &k2) &&
              absl::SimpleAtoi(f[3], &k3))
      << env;
  if (const std::string broken = RunCase(ScenarioIndex(f[0]), k1, k2, k3); !broken.empty())
    ADD_FAILURE() << broken;
}

// Every point of one scenario (one test per scenario, named after it).
class EveryCrashPoint : public CrashSimTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(EveryCrashPoint, EndsAsWithoutTheCrash) {
  const size_t i = GetParam();
  const size_t n = Prepare(i).points.size();
  ASSERT_GE(n, 5u) << scenarios_[i].name << ": too few crash points";
  for (size_t k = scenarios_[i].killer ? 0 : 1; k <= n; ++k) {
    if (const std::string broken = RunCase(i, k, 0); !broken.empty()) ADD_FAILURE() << broken;
  }
  std::printf("%s: %zu crash points\n", scenarios_[i].name, n);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, EveryCrashPoint,
                         ::testing::Range<size_t>(0, Scenarios().size()),
                         [](const ::testing::TestParamInfo<size_t>& p) {
                           return std::string(Scenarios()[p.param].name);
                         });

// Two kills: one in the run, one in its resume, drawn from seeds (the
// sweep above has each single kill). STEWARD_CRASH_SIM_SEED=<seed> replays one.
TEST_F(CrashSimTest, SeededDoubleCrashes) {
  std::vector<uint64_t> seeds;
  if (const char* env = std::getenv("STEWARD_CRASH_SIM_SEED"); env != nullptr) {
    uint64_t seed = 0;
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed)) << env;
    seeds.push_back(seed);
  } else {
    for (uint64_t s = 1; s <= 10; ++s) seeds.push_back(s);
  }
  for (uint64_t seed : seeds) {
    std::mt19937_64 rng(seed);
    const size_t i = rng() % scenarios_.size();
    const size_t n = Prepare(i).points.size();
    const size_t k1 = (scenarios_[i].killer ? 0 : 1) + rng() % n;
    const size_t k2 = 1 + rng() % n;
    const size_t k3 = 1 + rng() % 8;
    if (const std::string broken = RunCase(i, k1, k2, k3); !broken.empty())
      ADD_FAILURE() << "seed " << seed << " (STEWARD_CRASH_SIM_SEED=" << seed << "): " << broken;
  }
}

}  // namespace
}  // namespace steward::agent
