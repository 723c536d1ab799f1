// steward_put_job: what a compromised collector does, for the end-to-end
// tests: writes a job straight into a stopped collector's RocksDB (the
// `jobs` column family, through the collector's own Store), bypassing the
// admin API and stewardctl. The collector delivers it at the agent's next
// connection; the agent must refuse it.
//
//   steward_put_job DATA_DIR AGENT_ID JOB_ID -- /abs/program [ARG...]
//       an unsigned run_script job
//   steward_put_job DATA_DIR AGENT_ID JOB_ID --replay-of OLD_JOB_ID
//       a copy of that agent's job OLD_JOB_ID (signed statement included)
//       under a new id
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "collector/storage/store.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 5 || (args[3] != "--" && args[3] != "--replay-of")) {
    std::fprintf(stderr,
                 "usage: steward_put_job DATA_DIR AGENT_ID JOB_ID (-- PROGRAM [ARG...] | "
                 "--replay-of JOB_ID)\n");
    return 2;
  }
  auto store = steward::collector::Store::Open(args[0] + "/db");
  if (!store.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  steward::v1::Job job;
  job.set_agent_id(args[1]);
  if (args[3] == "--replay-of") {
    auto old = (*store)->GetJob(args[1], args[4]);
    if (!old.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(old.status().message()).c_str());
      return 1;
    }
    *job.mutable_spec() = old->spec();
  } else {
    for (size_t i = 4; i < args.size(); ++i)
      job.mutable_spec()->mutable_run_script()->add_argv(args[i]);
  }
  job.mutable_spec()->set_job_id(args[2]);
  job.set_created_ms(absl::ToUnixMillis(absl::Now()));
  job.set_created_by("intruder");
  job.mutable_result()->set_job_id(args[2]);
  job.mutable_result()->set_status(steward::v1::JOB_PENDING);
  if (auto st = (*store)->CreateJob(job); !st.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("%s\n", args[2].c_str());
  return 0;
}
