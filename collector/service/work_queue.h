#pragma once
// A fixed pool of threads behind a bounded queue. gRPC reactor callbacks
// hand their blocking work (RocksDB writes, signing) here, so no callback
// blocks a gRPC thread (the one exception, a small metrics query, is in
// AdminServiceImpl::QueryMetrics). When the queue is full, TrySubmit refuses
// and the caller answers UNAVAILABLE instead of queueing without bound.
// Thread-safe.

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace steward::collector {

class WorkQueue {
 public:
  WorkQueue(int threads, size_t max_pending);
  // Runs everything already queued, then joins the threads.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `fn`; false (and `fn` dropped) when the queue is full or stopping.
  bool TrySubmit(std::function<void()> fn);

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  const size_t max_pending_;
  std::vector<std::thread> threads_;
};

}  // namespace steward::collector
