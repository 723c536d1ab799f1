#pragma once
// Checks an agent's envelope before anything is stored: limits, names and
// labels. Errors are INVALID_ARGUMENT with a message naming the item and the
// rule, which the session returns to the agent as the stream's status.

#include "absl/status/status.h"
#include "common/metrics/series_columns.h"
#include "steward/v1/agent.pb.h"

namespace steward::collector {

// Documented limits (docs/protocol.md).
inline constexpr int kMaxInventoryItems = 200000;
inline constexpr int kMaxSeriesPerBatch = 20000;
inline constexpr int kMaxPointsPerBatch = 200000;
inline constexpr int kMaxLabelsPerSeries = 32;
inline constexpr int kMaxChecks = 1000;
inline constexpr int kMaxServiceUnits = 20000;
inline constexpr size_t kMaxStateBytes = 64;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxValueBytes = 4096;

// A metric batch's columns are decoded to check them; pass `columns` to
// keep the result (the session ingests from it; it is cleared otherwise).
absl::Status ValidateEnvelope(const v1::Envelope& envelope, metrics::DecodedColumns* columns = nullptr);

// Refuses times later than `latest_ms` (the collector's clock plus the
// allowed skew: a sample from the future would make every real sample of
// its series look out of order) and a negative created_ms. `columns` is
// what ValidateEnvelope decoded.
absl::Status ValidateEnvelopeTimes(const v1::Envelope& envelope, const metrics::DecodedColumns& columns,
                                   int64_t latest_ms);

}  // namespace steward::collector
