#include "agent/jobs/job_runner.h"

#include "spdlog/spdlog.h"

namespace steward::agent {

JobRunner::JobRunner(JobExecutor* executor, ReportFn report, std::function<void()> on_stop)
    : executor_(executor), report_(std::move(report)), on_stop_(std::move(on_stop)) {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Start() {
  for (const v1::JobSpec& job : executor_->Unfinished()) Submit(job);
  thread_ = std::thread([this] { Loop(); });
}

void JobRunner::Submit(const v1::JobSpec& job) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || !pending_.insert(job.job_id()).second) return;
  spdlog::info("job {} queued", job.job_id());
  queue_.push_back(job);
}

void JobRunner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    queue_.clear();
  }
  if (on_stop_) on_stop_();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Loop() {
  for (;;) {
    v1::JobSpec job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    v1::JobResult result = executor_->Run(job);
    // Not final: interrupted by Stop; it resumes at the next start.
    if (result.status() != v1::JOB_RUNNING) report_(result);
    absl::MutexLock lock(&mu_);
    pending_.erase(job.job_id());
  }
}

}  // namespace steward::agent
