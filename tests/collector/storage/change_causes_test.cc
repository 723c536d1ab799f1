// Attribution of inventory changes to jobs and the folding of rolled-back
// attempts, on hand-made changes and jobs (no store).
#include "collector/storage/change_causes.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/inventory/inventory_diff.h"
#include "gtest/gtest.h"

namespace steward::collector {
namespace {

v1::InventoryChange Step(int64_t time_ms, const std::string& name, const std::string& from,
                         const std::string& to, const std::string& source = "dpkg") {
  v1::InventoryChange c;
  c.set_time_ms(time_ms);
  c.set_source(source);
  c.set_name(name);
  c.set_arch("amd64");
  c.set_old_version(from);
  c.set_new_version(to);
  c.set_kind(from.empty() ? v1::InventoryChange::ADDED
             : to.empty() ? v1::InventoryChange::REMOVED
                          : ClassifyVersionChange(source, from, to));
  return c;
}

v1::InventoryChange By(v1::InventoryChange c, const std::string& job,
                       const std::string& deployment = "") {
  c.set_job_id(job);
  c.set_deployment_id(deployment);
  return c;
}

v1::Job AptJob(const std::string& id, const std::string& package, const std::string& version,
               const std::string& deployment = "") {
  v1::Job j;
  j.set_agent_id("a1");
  j.mutable_spec()->set_job_id(id);
  j.mutable_spec()->set_deployment_id(deployment);
  j.mutable_spec()->mutable_apt_package()->set_name(package);
  j.mutable_spec()->mutable_apt_package()->set_version(version);
  return j;
}

v1::Job Finished(v1::Job j, v1::JobStatus status, int64_t started_ms, int64_t finished_ms) {
  j.mutable_result()->set_job_id(j.spec().job_id());
  j.mutable_result()->set_status(status);
  j.mutable_result()->set_started_ms(started_ms);
  j.mutable_result()->set_finished_ms(finished_ms);
  return j;
}

v1::Artifact NoArtifact(const std::string&) { return v1::Artifact(); }

std::vector<std::string> Lines(const std::vector<v1::InventoryChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    out.push_back(absl::StrCat(
        c.time_ms(), " ", c.name(), " ", ChangeKindName(c.kind()), " ", c.old_version(), ">",
        c.new_version(), c.attempted_version().empty() ? "" : " tried ", c.attempted_version(),
        " by ", c.job_id().empty() ? "-" : c.job_id()));
  }
  return out;
}

TEST(AttributeChanges, AJobOwnsChangesOfItsPackageWhileItRunsAndShortlyAfter) {
  const int64_t window = absl::ToInt64Milliseconds(kJobAttributionWindow);
  std::vector<v1::Job> jobs = {Finished(AptJob("j1", "web", "2.0"), v1::JOB_SUCCEEDED, 1000, 2000),
                               AptJob("j2", "db", "")};
  std::vector<v1::InventoryChange> changes = {
      Step(900, "web", "0.9", "1.0"),            // before j1 started
      Step(2000 + window, "web", "1.0", "2.0"),  // the last moment of j1's window
      Step(2001 + window, "web", "2.0", "2.1"),  // after it
      Step(50, "db", "", "5"),                   // j2 has not finished: any time
      Step(2500, "web", "", "3", "pip"),         // a pip package of the same name
      Step(2500, "curl", "7", "8")};             // no job names it
  AttributeChanges(jobs, NoArtifact, &changes);
  EXPECT_EQ(Lines(changes),
            (std::vector<std::string>{"900 web upgraded 0.9>1.0 by -",
                                      absl::StrCat(2000 + window, " web upgraded 1.0>2.0 by j1"),
                                      absl::StrCat(2001 + window, " web upgraded 2.0>2.1 by -"),
                                      "50 db added >5 by j2", "2500 web added >3 by -",
                                      "2500 curl upgraded 7>8 by -"}));
}

TEST(AttributeChanges, TheRunningJobWinsAndArtifactAndRollbackJobsNameTheirPackage) {
  v1::Job install;
  install.set_agent_id("a1");
  install.set_created_ms(10);
  install.mutable_spec()->set_job_id("inst");
  install.mutable_spec()->mutable_install_artifact()->set_sha256("abc");
  install = Finished(install, v1::JOB_SUCCEEDED, 100, 200);
  install.mutable_result()->set_old_version("1.0");
  v1::Job undo;
  undo.set_agent_id("a1");
  undo.set_created_ms(20);
  undo.mutable_spec()->set_job_id("undo");
  undo.mutable_spec()->mutable_rollback()->set_of_job_id("inst");
  auto artifacts = [](const std::string& sha256) {
    v1::Artifact a;
    if (sha256 == "abc") {
      a.set_name("web");
      a.set_version("2.0");
    }
    return a;
  };
  std::vector<v1::Job> jobs = {undo, install};
  EXPECT_EQ(TargetOf(install, jobs, artifacts).version, "2.0");
  EXPECT_EQ(TargetOf(undo, jobs, artifacts).package, "web");
  EXPECT_EQ(TargetOf(undo, jobs, artifacts).version, "1.0");
  std::vector<v1::InventoryChange> changes = {Step(150, "web", "1.0", "2.0"),
                                              Step(300, "web", "2.0", "1.0")};
  AttributeChanges({install}, artifacts, &changes);
  EXPECT_EQ(changes[0].job_id(), "inst");
  AttributeChanges(jobs, artifacts, &changes);
  EXPECT_EQ(changes[1].job_id(), "undo");  // running, though "inst" finished within the window
}

TEST(FoldRolledBack, AnAttemptThatEndsWhereItStartedIsOneChange) {
  std::vector<v1::Job> jobs = {AptJob("d1-1", "web", "2.0", "d1"), AptJob("d1-2", "web", "", "d1"),
                               AptJob("j9", "db", "6")};
  std::vector<v1::InventoryChange> changes = {
      By(Step(10, "web", "1.0", "2.0"), "d1-1", "d1"),  // the deployment's upgrade...
      Step(15, "curl", "7", "8"),                       // (another item between)
      By(Step(20, "web", "2.0", "1.0"), "d1-2", "d1"),  // ...and its gate rollback
      By(Step(30, "web", "1.0", "2.0"), "d1-3", "d1"),  // a retry that stayed
      By(Step(40, "db", "5", ""), "j9"),                // failed upgrade, half-installed...
      By(Step(41, "db", "", "5"), "j9")};               // ...and put back
  EXPECT_EQ(Lines(FoldRolledBack(changes, jobs, NoArtifact)),
            (std::vector<std::string>{
                "10 web rolled_back 1.0>1.0 tried 2.0 by d1-1", "15 curl upgraded 7>8 by -",
                "30 web upgraded 1.0>2.0 by d1-3", "40 db rolled_back 5>5 tried 6 by j9"}));
}

TEST(FoldRolledBack, StepsOfOtherCausesAreNeverFolded) {
  std::vector<v1::Job> jobs = {AptJob("j1", "web", "2.0"), AptJob("j2", "web", "2.0")};
  // Out of band both ways; two unrelated jobs; a job then a hand-made undo.
  std::vector<v1::InventoryChange> changes = {
      Step(1, "web", "1.0", "2.0"),           Step(2, "web", "2.0", "1.0"),
      By(Step(3, "web", "1.0", "2.0"), "j1"), By(Step(4, "web", "2.0", "1.0"), "j2"),
      By(Step(5, "web", "1.0", "2.0"), "j1"), Step(6, "web", "2.0", "1.0")};
  EXPECT_EQ(Lines(FoldRolledBack(changes, jobs, NoArtifact)), Lines(changes));
}

TEST(FoldRolledBack, AHandMadeRollbackJobFoldsWithTheJobItUndoes) {
  v1::Job undo;
  undo.mutable_spec()->set_job_id("undo");
  undo.mutable_spec()->mutable_rollback()->set_of_job_id("j1");
  std::vector<v1::Job> jobs = {AptJob("j1", "web", "2.0"), undo};
  std::vector<v1::InventoryChange> changes = {By(Step(1, "web", "", "2.0"), "j1"),
                                              By(Step(2, "web", "2.0", ""), "undo")};
  EXPECT_EQ(Lines(FoldRolledBack(changes, jobs, NoArtifact)),
            (std::vector<std::string>{"1 web rolled_back > tried 2.0 by j1"}));
}

TEST(UnseenRollbacks, AJobRolledBackWithoutAStepSeenIsShownFromItsResult) {
  v1::Job seen = Finished(AptJob("seen", "web", "2.0"), v1::JOB_ROLLED_BACK, 100, 200);
  seen.mutable_result()->set_package("web");
  v1::Job unseen = Finished(AptJob("unseen", "db", "6", "d2"), v1::JOB_ROLLED_BACK, 300, 400);
  unseen.mutable_result()->set_package("db");
  unseen.mutable_result()->set_old_version("5");
  unseen.mutable_result()->set_new_version("5");
  v1::Job old = unseen;  // finished before `since`
  old.mutable_spec()->set_job_id("old");
  old.mutable_result()->set_finished_ms(10);
  v1::Job ok = Finished(AptJob("ok", "db", "6"), v1::JOB_SUCCEEDED, 500, 600);
  ok.mutable_result()->set_package("db");
  std::vector<v1::InventoryChange> shown = {By(Step(150, "web", "1.0", "1.0"), "seen")};
  std::vector<v1::InventoryChange> made =
      UnseenRollbacks(shown, {seen, unseen, old, ok}, NoArtifact, 50);
  EXPECT_EQ(Lines(made), (std::vector<std::string>{"300 db rolled_back 5>5 tried 6 by unseen"}));
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].source(), "dpkg");
  EXPECT_EQ(made[0].deployment_id(), "d2");
}

TEST(MatchesCause, JobOtherAndAny) {
  v1::InventoryChange job = By(Step(1, "web", "1", "2"), "j1");
  v1::InventoryChange other = Step(1, "web", "1", "2");
  EXPECT_TRUE(MatchesCause(job, v1::CHANGE_CAUSE_JOB));
  EXPECT_FALSE(MatchesCause(other, v1::CHANGE_CAUSE_JOB));
  EXPECT_TRUE(MatchesCause(other, v1::CHANGE_CAUSE_OTHER));
  EXPECT_FALSE(MatchesCause(job, v1::CHANGE_CAUSE_OTHER));
  EXPECT_TRUE(MatchesCause(job, v1::CHANGE_CAUSE_ANY));
  EXPECT_TRUE(MatchesCause(other, v1::CHANGE_CAUSE_ANY));
}

}  // namespace
}  // namespace steward::collector
