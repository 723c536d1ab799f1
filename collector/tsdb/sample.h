#pragma once
// One point of a time series, as the TSDB stores it.

#include <cstdint>

namespace steward::collector::tsdb {

// A sample: milliseconds since the Unix epoch (any int64, negative allowed)
// and a double (any bit pattern: NaN payloads, infinities and -0.0 are kept
// exactly). A plain value type.
struct Sample {
  int64_t time_ms = 0;
  double value = 0;
};

}  // namespace steward::collector::tsdb
