#pragma once
// What the job executor's tests share: signed specs of each kind, and a
// fixture with a throwaway dpkg root (dpkg --root, never the machine's),
// test packages served as artifacts by made-up digests, and executors on
// one state directory.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/jobs/job_executor.h"
#include "gtest/gtest.h"
#include "tests/agent/jobs/dpkg_test_root.h"
#include "tests/agent/jobs/signed_job.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent::testing {

v1::JobSpec InstallJob(const std::string& id, const std::string& sha, bool rollback = false);
v1::JobSpec RollbackJob(const std::string& id, const std::string& of);
v1::JobSpec RemoveJob(const std::string& id, const std::string& name);
v1::JobSpec ScriptJob(const std::string& id, std::vector<std::string> argv, int64_t timeout_ms = 0);
// Mode 0640.
v1::JobSpec ConfigJob(const std::string& id, const std::string& path, const std::string& content,
                      const std::string& unit = "", bool rollback = false);
// With rollback_on_failure.
v1::JobSpec AptJob(const std::string& id, const std::string& name, const std::string& version,
                   bool remove = false);

// An executor for the test agent on `state_dir`, trusting `trusted`,
// fetching the artifacts in `artifacts` (sha -> file; read at each fetch),
// with its clock at `now_ms`.
JobExecutor TestExecutor(const DpkgBackend* dpkg, const std::string& state_dir,
                         const std::map<std::string, std::string>* artifacts,
                         int64_t now_ms = kTestNowMs, uint64_t reserve = 0,
                         std::vector<Ed25519PublicKey> trusted = {TestOperatorKey().public_key()});

class JobExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDpkgRoot(root_); }

  // Artifacts by a made-up digest: the files were built here (the fetch
  // chain itself is exercised in WholeChainWithARealCollector).
  std::string Add(const TestDeb& deb);
  // An executor on STATE_DIR (dir_/state), trusting the test operator key.
  JobExecutor Executor(uint64_t reserve = 0, int64_t now_ms = kTestNowMs);
  // "VERSION" when fully installed, "VERSION STATUS" otherwise, "(none)".
  std::string Installed(const std::string& name = "demo");

  steward::testing::TempDir dir_;
  const std::string root_ = dir_.path() + "/root";
  DpkgBackend dpkg_{root_};
  std::map<std::string, std::string> debs_;  // sha -> file
};

}  // namespace steward::agent::testing
