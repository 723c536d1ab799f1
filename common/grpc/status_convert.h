#pragma once
// The one place where absl::Status and grpc::Status are translated. The
// message passes through unchanged; codes map one to one (same numbering).

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace steward {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace steward
