#pragma once
// Who may call which AdminService method: one table, kAdminMethods in
// admin_roles.cc, with per method the role it needs, whether it changes
// anything (then every call is audited, not only refusals) and how to name
// its target in the audit trail. A method missing from the table is refused
// (deny by default); admin_roles_test walks the service descriptor so a new
// RPC without a line here fails the build's tests.
//
// Roles are ordered: viewer < operator < admin, each allowed what the ones
// below it are. Immutable; thread-safe.

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "steward/v1/admin.pb.h"

namespace steward::collector {

// The target of one call, "kind:id" ("host:<agent id>"), from its request
// and (for what the collector assigns, such as a token id) its response;
// the response is empty for a refused call.
using AuditTargetFn = std::string (*)(const google::protobuf::Message& req, const google::protobuf::Message& resp);

struct AdminMethod {
  // Method name as in admin.proto ("CreateDeployment").
  const char* name;
  // Least role that may call it.
  v1::Role role;
  // Changes stored state or the fleet: every call is audited.
  bool mutates;
  // Null when the call names no target.
  AuditTargetFn target;
};

// The table entry for `method`, or null when it has none.
const AdminMethod* FindAdminMethod(absl::string_view method);

// Every entry (for tests and docs).
absl::Span<const AdminMethod> AdminMethods();

// True when `have` includes `need`.
bool RoleAllows(v1::Role have, v1::Role need);

// "viewer", "operator", "admin"; "none" for ROLE_UNSPECIFIED.
std::string RoleName(v1::Role role);
// The inverse of RoleName; false for anything else (including "none").
bool ParseRole(absl::string_view name, v1::Role* role);

}  // namespace steward::collector
