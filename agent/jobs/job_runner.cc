#include "agent/jobs/job_runner.h"

#include <algorithm>
#include <optional>

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

void JobRunner::Cancel(const v1::CancelJob& cancel) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  auto queued = std::find_if(queue_.begin(), queue_.end(),
                             [&](const v1::JobSpec& j) { return j.job_id() == cancel.job_id(); });
  if (queued != queue_.end()) {  // not started: it never will be
    queue_.erase(queued);
    pending_.erase(cancel.job_id());
  }
  cancels_.push_back(cancel);
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
    std::optional<v1::CancelJob> cancel;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty() || !cancels_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      // Cancels first: a job queued after its cancel finds it recorded.
      if (!cancels_.empty()) {
        cancel = std::move(cancels_.front());
        cancels_.pop_front();
      } else {
        job = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (cancel.has_value()) {
      if (std::optional<v1::JobResult> answer = executor_->Cancel(cancel->job_id(), cancel->reason())) {
        report_(*answer);
      }
      continue;
    }
    v1::JobResult result = executor_->Run(job);
    // Not final: interrupted by Stop; it resumes at the next start.
    if (result.status() != v1::JOB_RUNNING) report_(result);
    absl::MutexLock lock(&mu_);
    pending_.erase(job.job_id());
  }
}

}  // namespace steward::agent
