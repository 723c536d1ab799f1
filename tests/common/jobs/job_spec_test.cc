// Job specs the collector stores and the agent runs: every action's rules,
// each broken field refused naming the field.
#include "common/jobs/job_spec.h"

#include "common/jobs/deployment_change.h"
#include "common/jobs/job_kinds.h"

#include <functional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

using ::testing::HasSubstr;

v1::JobSpec Spec(const std::function<void(v1::JobSpec*)>& fill) {
  v1::JobSpec s;
  s.set_job_id("job-1");
  fill(&s);
  return s;
}

TEST(ValidateJobSpec, AcceptsEveryActionWellFormed) {
  const v1::JobSpec good[] = {
      Spec([](auto* s) { s->mutable_install_artifact()->set_sha256(std::string(64, 'a')); }),
      Spec([](auto* s) { s->mutable_rollback()->set_of_job_id("d-12345678-1"); }),
      Spec([](auto* s) { s->mutable_remove_package()->set_name("libssl3"); }),
      Spec([](auto* s) { s->mutable_remove_package()->set_name("g++-12"); }),
      Spec([](auto* s) {
        s->mutable_run_script()->add_argv("/usr/local/sbin/fix");
        s->mutable_run_script()->add_argv("$(rm -rf /)");  // an argument, never shell text
        s->mutable_run_script()->set_timeout_ms(60'000);
      }),
      Spec([](auto* s) {
        s->mutable_write_config()->set_path("/etc/app/app.conf");
        s->mutable_write_config()->set_content("port = 80\n");
        s->mutable_write_config()->set_mode(0640);
        s->mutable_write_config()->set_restart_unit("app@blue.service");
      }),
      Spec([](auto* s) { s->mutable_restart_service()->set_unit("nginx.service"); }),
  };
  for (const v1::JobSpec& s : good) EXPECT_TRUE(ValidateJobSpec(s).ok()) << s.ShortDebugString();
}

TEST(ValidateJobSpec, RefusesBrokenFieldsNamingThem) {
  struct Case {
    v1::JobSpec spec;
    std::string says;
  };
  const Case cases[] = {
      {Spec([](auto* s) { s->set_job_id("../x"); s->mutable_remove_package()->set_name("a1"); }), "job id must be"},
      {Spec([](auto*) {}), "the job has no action"},
      {Spec([](auto* s) { s->mutable_install_artifact()->set_sha256("ABC"); }), "install_artifact.sha256"},
      {Spec([](auto* s) { s->mutable_rollback()->set_of_job_id(""); }), "rollback.of_job_id"},
      {Spec([](auto* s) { s->mutable_remove_package()->set_name("Bad_Name"); }), "remove_package.name 'Bad_Name'"},
      {Spec([](auto* s) { s->mutable_remove_package()->set_name("-rf"); }), "remove_package.name '-rf'"},
      {Spec([](auto* s) { s->mutable_run_script(); }), "run_script.argv is empty"},
      {Spec([](auto* s) { s->mutable_run_script()->add_argv("rm"); }), "run_script.argv[0] 'rm' must be an absolute path"},
      {Spec([](auto* s) { s->mutable_run_script()->add_argv(std::string("/bin/x\0y", 8)); }), "NUL byte"},
      {Spec([](auto* s) {
         s->mutable_run_script()->add_argv("/bin/true");
         s->mutable_run_script()->set_timeout_ms(7'200'000);
       }),
       "run_script.timeout_ms"},
      {Spec([](auto* s) {
         s->mutable_run_script()->add_argv("/bin/true");
         s->mutable_run_script()->add_argv(std::string(70'000, 'a'));
       }),
       "longer than 64 KiB"},
      {Spec([](auto* s) { s->mutable_write_config()->set_path("etc/app.conf"); }), "write_config.path 'etc/app.conf'"},
      {Spec([](auto* s) { s->mutable_write_config()->set_path("/etc/../shadow"); }), "write_config.path"},
      {Spec([](auto* s) { s->mutable_write_config()->set_path("/etc//app"); }), "write_config.path"},
      {Spec([](auto* s) { s->mutable_write_config()->set_path("/etc/app/"); }), "write_config.path"},
      {Spec([](auto* s) {
         s->mutable_write_config()->set_path("/etc/app");
         s->mutable_write_config()->set_content(std::string((1 << 20) + 1, 'x'));
       }),
       "larger than 1 MiB"},
      {Spec([](auto* s) {
         s->mutable_write_config()->set_path("/etc/app");
         s->mutable_write_config()->set_mode(010000);
       }),
       "write_config.mode"},
      {Spec([](auto* s) {
         s->mutable_write_config()->set_path("/etc/app");
         s->mutable_write_config()->set_restart_unit("nginx; reboot");
       }),
       "write_config.restart_unit 'nginx; reboot'"},
      {Spec([](auto* s) { s->mutable_restart_service()->set_unit("--now"); }), "restart_service.unit '--now'"},
      {Spec([](auto* s) { s->mutable_restart_service()->set_unit(""); }), "restart_service.unit ''"},
  };
  for (const Case& c : cases) {
    absl::Status st = ValidateJobSpec(c.spec);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.says;
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.says));
  }
}

// Every field of JobSpec's `action` oneof has exactly one row in the kind
// table, under the field's own name (what stewardctl's JSON and signed
// statements spell), and every row names a field.
TEST(JobKinds, OneRowPerActionOfTheOneof) {
  const google::protobuf::OneofDescriptor* action = v1::JobSpec::descriptor()->FindOneofByName("action");
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(JobKinds().size(), static_cast<size_t>(action->field_count()));
  for (int i = 0; i < action->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = action->field(i);
    const JobKind* kind = FindJobKind(static_cast<v1::JobSpec::ActionCase>(f->number()));
    ASSERT_NE(kind, nullptr) << f->name() << " has no row in common/jobs/job_kinds.cc";
    EXPECT_EQ(kind->name, f->name());
    EXPECT_EQ(FindJobKind(f->name()), kind);
    EXPECT_TRUE(kind->changes_host) << f->name();
  }
  EXPECT_EQ(FindJobKind(v1::JobSpec::ACTION_NOT_SET), nullptr);
  EXPECT_EQ(FindJobKind("format_disk"), nullptr);
}

TEST(JobKinds, SummariesAndParamsNameWhatTheJobTouches) {
  v1::JobSpec apt = Spec([](auto* s) {
    s->mutable_apt_package()->set_name("openssl");
    s->mutable_apt_package()->set_version("3.0.13-1");
  });
  EXPECT_EQ(JobKindName(apt), "apt_package");
  EXPECT_EQ(FindJobKind(apt.action_case())->summary(apt), "openssl=3.0.13-1");
  v1::JobSpec cfg = Spec([](auto* s) {
    s->mutable_write_config()->set_path("/etc/app.conf");
    s->mutable_write_config()->set_content("a = 1\n");
  });
  const JobParams params = FindJobKind(cfg.action_case())->params(cfg);
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>("path", "/etc/app.conf")));
  EXPECT_EQ(params[1].first, "content_sha256");
  EXPECT_EQ(params[1].second.size(), 64u);
  EXPECT_EQ(JobKindName(v1::JobSpec()), "");
}

TEST(DeploymentChangeJob, ArtifactOrAptPackageWithRollback) {
  v1::DeploymentSpec d;
  d.set_artifact_sha256(std::string(64, 'a'));
  absl::StatusOr<v1::JobSpec> job = DeploymentChangeJob(d);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->install_artifact().sha256(), std::string(64, 'a'));
  EXPECT_TRUE(job->rollback_on_failure());
  d.set_apt_package("openssl=3.0.13-1");
  job = DeploymentChangeJob(d);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->apt_package().name(), "openssl");
  EXPECT_EQ(job->apt_package().version(), "3.0.13-1");
  d.set_apt_package("openssl=");
  EXPECT_THAT(std::string(DeploymentChangeJob(d).status().message()), HasSubstr("must be NAME=VERSION"));
  EXPECT_THAT(std::string(DeploymentChangeJob(v1::DeploymentSpec()).status().message()),
              HasSubstr("needs a change"));
}

}  // namespace
}  // namespace steward
