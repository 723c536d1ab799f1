#pragma once
// Token buckets by key (a source address, a token id): each key may do
// `burst` things at once and `per_second` more every second after. Memory
// is bounded: at most `max_keys` buckets; when full, buckets that have
// refilled completely (they hold no state worth keeping) are dropped, and
// if none has, the new key is refused (fail closed under a flood of
// distinct keys). Thread-safe.

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace steward::collector {

class KeyedRateLimiter {
 public:
  KeyedRateLimiter(double per_second, double burst, size_t max_keys = 100000)
      : per_second_(per_second), burst_(burst), max_keys_(max_keys) {}

  // Takes one token from `key`'s bucket; false (and nothing taken) when
  // it is empty. *retry_after, when given, is how long until one refills.
  bool Allow(absl::string_view key, absl::Time now, absl::Duration* retry_after = nullptr);
  size_t keys() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  double Refilled(const Bucket& b, absl::Time now) const;
  const double per_second_;
  const double burst_;
  const size_t max_keys_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::collector
