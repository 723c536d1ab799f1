#pragma once
// Turns what the agent's collectors read into protocol messages.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/facts/host_facts.h"
#include "agent/inventory/dpkg_status.h"
#include "agent/metrics/host_metrics.h"
#include "steward/v1/agent.pb.h"

namespace steward::agent {

v1::HostFacts FactsToProto(const HostFacts& facts);

// Snapshot of `packages` with its digest (see common/inventory/inventory_diff.h).
v1::InventorySnapshot BuildInventorySnapshot(const std::vector<Package>& packages,
                                             const HostFacts& facts, size_t skipped_records);

// One point per sample at `time_ms`, in the batch's columns form.
v1::MetricBatch BuildMetricBatch(const std::vector<MetricSample>& samples, int64_t time_ms);

// The key ids of the publisher key files an agent trusts (--trusted-key),
// sorted, for Hello; an error naming the file that does not load.
absl::StatusOr<v1::TrustedKeys> TrustedKeysOf(const std::vector<std::string>& key_files);

}  // namespace steward::agent
