#pragma once
// The hosts a target expression selects, from the collector's store: the
// one place `stewardctl hosts --where` and deployments resolve targets.

#include <vector>

#include "absl/status/statusor.h"
#include "common/targeting/target_expr.h"
#include "steward/internal/records.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::collector {

class Store;

// What `expr` sees of a host: its agent record and, when given, its
// installed items.
TargetHost TargetHostOf(const internal::AgentRecord& agent, const std::vector<v1::SoftwareItem>* software);

// Every enrolled host `expr` matches, in agent id order. Package terms are
// answered from the store's index by name (only the items the expression
// names are read). Store errors are returned as they are.
absl::StatusOr<std::vector<internal::AgentRecord>> SelectHosts(Store& store, const TargetExpr& expr);

}  // namespace steward::collector
