#pragma once
// Creating a job for one host: stored first (so it survives a restart and
// is sent again after every Welcome until its result arrives), then pushed
// at once when the host is connected. Used by RunJob and by rollouts.

#include "absl/status/statusor.h"
#include "steward/v1/types.pb.h"

namespace steward::collector {

class Store;
class SessionRegistry;

// `job` needs agent_id and spec.job_id (checked against the agents' rule);
// its result is set to JOB_PENDING. AlreadyExists when the host has a job
// with that id; InvalidArgument for a bad id.
absl::StatusOr<v1::Job> DispatchJob(Store& store, SessionRegistry& sessions, v1::Job job);

}  // namespace steward::collector
