#pragma once
// stewardctl's connection to the collector: reads admin.conf (written by the
// collector; key = value lines) and opens a mutual-TLS channel with the
// admin certificate it carries.
//
// admin.conf keys: collector (HOST:PORT), and for each of ca, cert, key
// either `<name>_data` (base64 of the PEM) or `<name>_file` (a path,
// relative to admin.conf's directory).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::ctl {

struct AdminCredential {
  std::string collector;
  std::string ca_pem, cert_pem, key_pem;
};

// Reads admin.conf at `path` and checks what it holds before any call:
// each PEM must parse and the key must belong to the certificate. A damaged
// one is InvalidArgument (stewardctl's exit code 2, a usage error, not
// "cannot reach the collector"): "the admin credential in PATH is not a
// valid certificate (cert_data: ...)", "... not a valid private key
// (key_data: ...)", "... not a valid CA certificate (ca_data: ...)", or
// "the admin credential in PATH does not hold together: the key_data is not
// the key of the cert_data (...)". NotFound when the file does not exist.
absl::StatusOr<AdminCredential> LoadAdminCredential(const std::string& path);

std::unique_ptr<v1::AdminService::Stub> MakeAdminStub(const AdminCredential& cred);

// Sets `ctx`'s deadline `timeout` from now; returns it (for a call's argument).
grpc::ClientContext* WithDeadline(grpc::ClientContext* ctx, absl::Duration timeout);

}  // namespace steward::ctl
