// Job specs the collector stores and the agent runs: every action's rules,
// each broken field refused naming the field.
#include "common/jobs/job_spec.h"

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

}  // namespace
}  // namespace steward
