#include "tests/agent/jobs/job_test_fixture.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "tests/agent/jobs/signed_job.h"

namespace steward::agent::testing {

v1::JobSpec InstallJob(const std::string& id, const std::string& sha, bool rollback) {
  v1::JobSpec s;
  s.set_job_id(id);
  s.mutable_install_artifact()->set_sha256(sha);
  s.set_rollback_on_failure(rollback);
  return Signed(s);
}

v1::JobSpec RollbackJob(const std::string& id, const std::string& of) {
  v1::JobSpec s;
  s.set_job_id(id);
  s.mutable_rollback()->set_of_job_id(of);
  return Signed(s);
}

v1::JobSpec RemoveJob(const std::string& id, const std::string& name) {
  v1::JobSpec s;
  s.set_job_id(id);
  s.mutable_remove_package()->set_name(name);
  return Signed(s);
}

v1::JobSpec ScriptJob(const std::string& id, std::vector<std::string> argv, int64_t timeout_ms) {
  v1::JobSpec s;
  s.set_job_id(id);
  for (auto& a : argv) s.mutable_run_script()->add_argv(a);
  s.mutable_run_script()->set_timeout_ms(timeout_ms);
  return Signed(s);
}

v1::JobSpec ConfigJob(const std::string& id, const std::string& path, const std::string& content,
                      const std::string& unit, bool rollback) {
  v1::JobSpec s;
  s.set_job_id(id);
  s.mutable_write_config()->set_path(path);
  s.mutable_write_config()->set_content(content);
  s.mutable_write_config()->set_mode(0640);
  s.mutable_write_config()->set_restart_unit(unit);
  s.set_rollback_on_failure(rollback);
  return Signed(s);
}

v1::JobSpec AptJob(const std::string& id, const std::string& name, const std::string& version,
                   bool remove) {
  v1::JobSpec s;
  s.set_job_id(id);
  s.mutable_apt_package()->set_name(name);
  s.mutable_apt_package()->set_version(version);
  s.mutable_apt_package()->set_remove(remove);
  s.set_rollback_on_failure(true);
  return Signed(s);
}

std::string JobExecutorTest::Add(const TestDeb& deb) {
  const std::string sha = absl::StrFormat("%064x", debs_.size() + 1);
  debs_[sha] = BuildDeb(dir_.path(), deb);
  return sha;
}

JobExecutor TestExecutor(const DpkgBackend* dpkg, const std::string& state_dir,
                         const std::map<std::string, std::string>* artifacts, int64_t now_ms,
                         uint64_t reserve, std::vector<Ed25519PublicKey> trusted) {
  JobExecutorOptions o;
  o.state_dir = state_dir;
  o.reserve_bytes = reserve;
  o.agent_id = kTestAgentId;
  o.trusted_keys = std::move(trusted);
  return JobExecutor(
      dpkg,
      [artifacts](const std::string& sha) -> absl::StatusOr<FetchedArtifact> {
        auto it = artifacts->find(sha);
        if (it == artifacts->end()) return absl::NotFoundError("no artifact " + sha);
        return FetchedArtifact{it->second, {}, 1};
      },
      std::move(o), [now_ms] { return now_ms; });
}

JobExecutor JobExecutorTest::Executor(uint64_t reserve, int64_t now_ms) {
  return TestExecutor(&dpkg_, dir_.path() + "/state", &debs_, now_ms, reserve);
}

std::string JobExecutorTest::Installed(const std::string& name) {
  auto s = dpkg_.State(name);
  if (!s.ok() || !s->has_value()) return "(none)";
  return (*s)->version + ((*s)->installed() ? "" : " " + (*s)->status);
}

}  // namespace steward::agent::testing
