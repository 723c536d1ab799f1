#pragma once
// stewardctl's people: `user add NAME --role ROLE --out FILE` (a personal
// credential file in admin.conf's format), `user list`, `user rm NAME`,
// `user rotate NAME --out FILE`. The key of a new credential is made here,
// on the machine running stewardctl; the collector only signs its CSR.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/ctl/admin_client.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

struct UserOptions {
  std::string name;
  std::string role;  // user add: viewer, operator or admin
  std::string out;   // user add|rotate: credential file to write (0600)
  bool force = false;  // overwrite `out`
  bool json = false;
  absl::Duration timeout = absl::Seconds(30);
};

// `cred` is the caller's own credential: the new file points at the same
// collector with the same CA.
absl::Status UserAdd(v1::AdminService::Stub& stub, const AdminCredential& cred, const UserOptions& o,
                     std::ostream& out);
absl::Status UserRotate(v1::AdminService::Stub& stub, const AdminCredential& cred, const UserOptions& o,
                        std::ostream& out);
absl::Status UserList(v1::AdminService::Stub& stub, const UserOptions& o, std::ostream& out);
absl::Status UserRm(v1::AdminService::Stub& stub, const UserOptions& o, std::ostream& out);

}  // namespace steward::ctl
