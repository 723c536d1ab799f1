#pragma once
// stewardctl's audit trail: `audit [--since 24h] [--user NAME] [--limit N]`
// (a table for people, --json for scripts) and `audit verify` (walks the
// hash chain on the collector; exit 1 naming the first bad record).

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

struct AuditOptions {
  std::string since;  // "24h"; empty: from the start
  std::string user;   // "alice" or a full CN such as "admin/admin"
  std::string limit;  // newest N; empty: the collector's default (1,000)
  bool json = false;
  absl::Duration timeout = absl::Seconds(30);
};

absl::Status AuditList(v1::AdminService::Stub& stub, const AuditOptions& o, std::ostream& out);

// OK only when the trail is intact. A broken trail is a DataLoss status
// naming the first bad record (after printing the JSON answer with --json).
absl::Status AuditVerify(v1::AdminService::Stub& stub, const AuditOptions& o, std::ostream& out);

}  // namespace steward::ctl
