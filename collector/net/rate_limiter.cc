#include "collector/net/rate_limiter.h"

#include <algorithm>

namespace steward::collector {

double KeyedRateLimiter::Refilled(const Bucket& b, absl::Time now) const {
  double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - b.updated));
  return std::min(burst_, b.tokens + elapsed * per_second_);
}

bool KeyedRateLimiter::Allow(absl::string_view key, absl::Time now, absl::Duration* retry_after) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        if (Refilled(b->second, now) >= burst_) {
          buckets_.erase(b++);
        } else {
          ++b;
        }
      }
      if (buckets_.size() >= max_keys_) {
        if (retry_after != nullptr) *retry_after = absl::Seconds(1);
        return false;
      }
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = Refilled(b, now);
  b.updated = now;
  if (b.tokens < 1.0) {
    if (retry_after != nullptr) *retry_after = absl::Seconds((1.0 - b.tokens) / per_second_);
    return false;
  }
  b.tokens -= 1.0;
  return true;
}

size_t KeyedRateLimiter::keys() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace steward::collector
