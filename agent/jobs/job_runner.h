#pragma once
// The agent's job thread: jobs from the collector are queued here and run
// one at a time by the JobExecutor; each result goes to `report` (the
// outbox, so it reaches the collector even across restarts). A job id
// already queued or running is not queued again (the collector resends
// jobs after every Welcome until their results arrive). Start() first
// resumes the jobs a crash or stop interrupted.
//
// Thread-safe. Stop() lets a running job finish (interrupting dpkg would
// leave the package half-installed) and drops the queue: those jobs are
// resent by the collector.

#include <deque>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/jobs/job_executor.h"

namespace steward::agent {

class JobRunner {
 public:
  using ReportFn = std::function<void(const v1::JobResult&)>;
  // `on_stop` (optional) interrupts what can be interrupted safely (the
  // artifact download); dpkg is never interrupted.
  JobRunner(JobExecutor* executor, ReportFn report, std::function<void()> on_stop = nullptr);
  ~JobRunner();

  void Start();
  void Submit(const v1::JobSpec& job);
  // The collector withdrew a job: dropped from the queue if it waits there,
  // and answered (JobExecutor::Cancel) before the next job runs.
  void Cancel(const v1::CancelJob& cancel);
  void Stop();

 private:
  void Loop();

  JobExecutor* executor_;
  ReportFn report_;
  std::function<void()> on_stop_;
  absl::Mutex mu_;
  std::deque<v1::JobSpec> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::CancelJob> cancels_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> pending_ ABSL_GUARDED_BY(mu_);  // queued or running
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace steward::agent
