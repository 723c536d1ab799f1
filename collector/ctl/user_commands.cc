#include "collector/ctl/user_commands.h"
#include "collector/ctl/command.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "collector/ctl/admin_client.h"
#include "collector/ctl/table.h"
#include "common/duration.h"
#include "common/file_util.h"
#include "common/grpc/status_convert.h"
#include "common/json_writer.h"
#include "common/kv_config.h"
#include "common/status_macros.h"
#include "common/tls/pki.h"

namespace steward::ctl {
namespace {

std::string RoleText(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return "viewer";
    case v1::ROLE_OPERATOR: return "operator";
    case v1::ROLE_ADMIN: return "admin";
    default: return "none";
  }
}

std::string TimeText(int64_t ms) { return ms > 0 ? FormatRfc3339(absl::FromUnixMillis(ms)) : ""; }

// Checked before anything is asked of the collector: a credential whose
// file cannot be written would have to be rotated at once.
absl::Status CheckOut(const UserOptions& o, const std::string& cmd) {
  if (o.out.empty()) return absl::InvalidArgumentError(absl::StrCat(cmd, " needs --out FILE (the new credential)"));
  if (FileExists(o.out) && !o.force) {
    return absl::AlreadyExistsError(absl::StrCat(o.out, " exists; pass --force to overwrite it"));
  }
  return absl::OkStatus();
}

absl::Status WriteCredential(const AdminCredential& cred, const std::string& name, const std::string& ca_pem,
                             const std::string& cert_pem, const std::string& key_pem, const std::string& path) {
  ASSIGN_OR_RETURN(std::string text,
                   KvConfig::Render({{"collector", cred.collector},
                                     {"ca_data", absl::Base64Escape(ca_pem)},
                                     {"cert_data", absl::Base64Escape(cert_pem)},
                                     {"key_data", absl::Base64Escape(key_pem)}},
                                    absl::StrCat("Steward credential of user '", name,
                                                 "' for stewardctl (--config or STEWARD_CONFIG).\n"
                                                 "It holds a private key: keep it mode 0600 and share it with no one.")));
  return WriteFileAtomic(path, text, 0600);
}

void UserJson(JsonWriter& w, const v1::User& u) {
  w.BeginObject()
      .Key("name").String(u.name())
      .Key("role").String(RoleText(u.role()))
      .Key("cert_serial").String(u.cert_serial())
      .Key("cert_expires").String(u.cert_not_after_unix() > 0 ? FormatRfc3339(absl::FromUnixSeconds(u.cert_not_after_unix())) : "")
      .Key("created").String(TimeText(u.created_ms()))
      .Key("created_by").String(u.created_by())
      .Key("rotated").String(TimeText(u.rotated_ms()))
      .EndObject();
}

void PrintIssued(const v1::User& u, const UserOptions& o, const char* what, std::ostream& out) {
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("user");
    UserJson(w, u);
    w.Key("credential").String(o.out).EndObject();
    out << w.str() << "\n";
  } else {
    out << "user '" << u.name() << "' (" << RoleText(u.role()) << ") " << what << "; credential written to " << o.out
        << " (mode 0600): hand it over privately, use it with 'stewardctl --config " << o.out << "'\n";
  }
}

}  // namespace

absl::Status UserAdd(v1::AdminService::Stub& stub, const AdminCredential& cred, const UserOptions& o,
                     std::ostream& out) {
  v1::AddUserRequest req;
  req.set_name(o.name);
  v1::Role role = v1::ROLE_UNSPECIFIED;
  for (v1::Role r : {v1::ROLE_VIEWER, v1::ROLE_OPERATOR, v1::ROLE_ADMIN}) {
    if (o.role == RoleText(r)) role = r;
  }
  if (role == v1::ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("user add needs --role viewer|operator|admin", o.role.empty() ? "" : absl::StrCat(", not '", o.role, "'")));
  }
  req.set_role(role);
  RETURN_IF_ERROR(CheckOut(o, "user add"));
  ASSIGN_OR_RETURN(std::string key_pem, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(*req.mutable_csr_pem(), CreateCsrPem(key_pem, absl::StrCat("user/", o.name)));
  v1::AddUserResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpcStatus(stub.AddUser(WithDeadline(&ctx, o.timeout), req, &resp)));
  if (absl::Status st = WriteCredential(cred, o.name, resp.ca_pem(), resp.cert_pem(), key_pem, o.out); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("user '", o.name, "' was added but its credential could not be written: ",
                                                st.message(), "; 'stewardctl user rotate ", o.name,
                                                " --out FILE' issues another"));
  }
  PrintIssued(resp.user(), o, "added", out);
  return absl::OkStatus();
}

absl::Status UserRotate(v1::AdminService::Stub& stub, const AdminCredential& cred, const UserOptions& o,
                        std::ostream& out) {
  RETURN_IF_ERROR(CheckOut(o, "user rotate"));
  v1::RotateUserRequest req;
  req.set_name(o.name);
  ASSIGN_OR_RETURN(std::string key_pem, GeneratePrivateKeyPem());
  ASSIGN_OR_RETURN(*req.mutable_csr_pem(), CreateCsrPem(key_pem, absl::StrCat("user/", o.name)));
  v1::RotateUserResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpcStatus(stub.RotateUser(WithDeadline(&ctx, o.timeout), req, &resp)));
  if (absl::Status st = WriteCredential(cred, o.name, resp.ca_pem(), resp.cert_pem(), key_pem, o.out); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("user '", o.name, "' has a new certificate but its credential could not be written: ",
                                                st.message(), "; the old one no longer works, rotate again"));
  }
  PrintIssued(resp.user(), o, "has a new certificate (the old one is refused from now on)", out);
  return absl::OkStatus();
}

absl::Status UserList(v1::AdminService::Stub& stub, const UserOptions& o, std::ostream& out) {
  v1::ListUsersResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpcStatus(stub.ListUsers(WithDeadline(&ctx, o.timeout), v1::ListUsersRequest(), &resp)));
  if (o.json) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& u : resp.users()) UserJson(w, u);
    w.EndArray();
    out << w.str() << "\n";
    return absl::OkStatus();
  }
  Table t({"NAME", "ROLE", "CERT EXPIRES", "CREATED", "CREATED BY", "ROTATED"});
  for (const auto& u : resp.users()) {
    t.AddRow({u.name(), RoleText(u.role()),
              u.cert_not_after_unix() > 0 ? FormatRfc3339(absl::FromUnixSeconds(u.cert_not_after_unix())) : "",
              TimeText(u.created_ms()), u.created_by(), TimeText(u.rotated_ms())});
  }
  out << t.Render();
  if (t.size() == 0) out << "(no users yet: 'stewardctl user add NAME --role viewer --out FILE')\n";
  return absl::OkStatus();
}

absl::Status UserRm(v1::AdminService::Stub& stub, const UserOptions& o, std::ostream& out) {
  v1::RemoveUserRequest req;
  req.set_name(o.name);
  v1::RemoveUserResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(FromGrpcStatus(stub.RemoveUser(WithDeadline(&ctx, o.timeout), req, &resp)));
  if (o.json) out << "{}\n";
  else out << "user '" << o.name << "' removed; their credential is refused from now on\n";
  return absl::OkStatus();
}

namespace {

UserOptions UserOptionsOf(CommandContext& c) {
  UserOptions o;
  if (!c.args().empty()) o.name = c.args()[0];
  o.json = c.json();
  o.timeout = c.timeout();
  return o;
}

}  // namespace

CommandNoun UserNoun() {
  return {"user", "people's credentials, each with a role",
          {
              {.path = "user add",
               .args_usage = "NAME",
               .min_args = 1,
               .max_args = 1,
               .summary = "a person's credential file (like admin.conf, 0600); its key is made here",
               .flags = {ChoiceFlag("role", {"viewer", "operator", "admin"}, "what the person may do"),
                         TextFlag("out", "FILE", "the credential file to write"),
                         BoolFlag("force", "overwrite FILE")},
               .examples = {"user add alice --role operator --out alice.conf"},
               .json_keys = {"name", "role"},
               .run =
                   [](CommandContext& c) {
                     UserOptions o = UserOptionsOf(c);
                     o.role = c.Get("role");
                     o.out = c.Get("out");
                     o.force = c.Bool("force");
                     return UserAdd(c.stub(), c.credential(), o, c.out());
                   }},
              {.path = "user list",
               .summary = "users with their roles",
               .examples = {"user list"},
               .json_keys = {"name", "role"},
               .run = [](CommandContext& c) { return UserList(c.stub(), UserOptionsOf(c), c.out()); }},
              {.path = "user rm",
               .args_usage = "NAME",
               .min_args = 1,
               .max_args = 1,
               .summary = "remove a user (their credential stops working at once)",
               .examples = {"user rm alice"},
               .run = [](CommandContext& c) { return UserRm(c.stub(), UserOptionsOf(c), c.out()); }},
              {.path = "user rotate",
               .args_usage = "NAME",
               .min_args = 1,
               .max_args = 1,
               .summary = "a new credential for a user; the old one stops working",
               .flags = {TextFlag("out", "FILE", "the credential file to write"), BoolFlag("force", "overwrite FILE")},
               .examples = {"user rotate alice --out alice.conf --force"},
               .json_keys = {"name", "role"},
               .run =
                   [](CommandContext& c) {
                     UserOptions o = UserOptionsOf(c);
                     o.out = c.Get("out");
                     o.force = c.Bool("force");
                     return UserRotate(c.stub(), c.credential(), o, c.out());
                   }},
          }};
}

}  // namespace steward::ctl
