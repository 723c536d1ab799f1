#include "collector/ctl/admin_client.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/kv_config.h"
#include "common/status_macros.h"
#include "common/tls/pki.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace steward::ctl {
namespace {

// One PEM of admin.conf and where it came from ("cert_data", or
// "cert_file /etc/steward/admin.crt"), for messages.
struct Pem {
  std::string text;
  std::string source;
};

absl::StatusOr<Pem> LoadPem(const KvConfig& cfg, const std::string& path, const std::string& name) {
  std::string data_key = name + "_data", file_key = name + "_file";
  if (cfg.Has(data_key)) {
    std::string pem;
    if (!absl::Base64Unescape(cfg.Get(data_key), &pem) || pem.find("-----BEGIN") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", data_key, " is not base64 of a PEM block"));
    }
    return Pem{std::move(pem), data_key};
  }
  if (cfg.Has(file_key)) {
    std::string file = cfg.Get(file_key);
    if (!file.empty() && file[0] != '/') {
      size_t slash = path.rfind('/');
      file = absl::StrCat(slash == std::string::npos ? "." : path.substr(0, slash), "/", file);
    }
    ASSIGN_OR_RETURN(std::string pem, ReadFile(file));
    return Pem{std::move(pem), absl::StrCat(file_key, " ", file)};
  }
  return absl::InvalidArgumentError(absl::StrCat(path, ": missing ", data_key, " or ", file_key));
}

// "the admin credential in PATH is not a valid WHAT (SOURCE: REASON)".
absl::Status NotValid(const std::string& path, absl::string_view what, const Pem& pem, const absl::Status& why) {
  return absl::InvalidArgumentError(absl::StrCat("the admin credential in ", path, " is not a valid ", what, " (",
                                                 pem.source, ": ", why.message(), ")"));
}

}  // namespace

absl::StatusOr<AdminCredential> LoadAdminCredential(const std::string& path) {
  auto cfg = KvConfig::Load(path);
  if (!cfg.ok()) {
    if (absl::IsNotFound(cfg.status())) {
      return absl::NotFoundError(absl::StrCat(
          "admin config ", path, " does not exist; the collector writes DATA_DIR/admin.conf on start"));
    }
    return cfg.status();
  }
  AdminCredential cred;
  cred.collector = cfg->Get("collector");
  if (cred.collector.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": missing 'collector = HOST:PORT'"));
  ASSIGN_OR_RETURN(Pem ca, LoadPem(*cfg, path, "ca"));
  ASSIGN_OR_RETURN(Pem cert, LoadPem(*cfg, path, "cert"));
  ASSIGN_OR_RETURN(Pem key, LoadPem(*cfg, path, "key"));
  // Checked here, where the file can be named: gRPC would only fail the
  // first call with UNAVAILABLE, as if the collector were down.
  if (absl::Status st = InspectCert(ca.text).status(); !st.ok()) return NotValid(path, "CA certificate", ca, st);
  if (absl::Status st = InspectCert(cert.text).status(); !st.ok()) return NotValid(path, "certificate", cert, st);
  if (absl::Status st = CheckPrivateKeyPem(key.text); !st.ok()) return NotValid(path, "private key", key, st);
  if (absl::Status st = CheckKeyMatchesCert(key.text, cert.text); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the admin credential in ", path, " does not hold together: the ",
                                                   key.source, " is not the key of the ", cert.source,
                                                   " (", st.message(), ")"));
  }
  cred.ca_pem = std::move(ca.text);
  cred.cert_pem = std::move(cert.text);
  cred.key_pem = std::move(key.text);
  return cred;
}

std::unique_ptr<v1::AdminService::Stub> MakeAdminStub(const AdminCredential& cred) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = cred.ca_pem;
  ssl.pem_cert_chain = cred.cert_pem;
  ssl.pem_private_key = cred.key_pem;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  // A fixed 8 MiB stream window instead of bandwidth probes: a probe (a
  // PING and its ack after each burst of data) costs both sides wake-ups on
  // the next call, about 0.1 ms on a small query after a large answer,
  // while the fixed window lets a large answer stream at full speed.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8 << 20);
  return v1::AdminService::NewStub(grpc::CreateCustomChannel(cred.collector, grpc::SslCredentials(ssl), args));
}

grpc::ClientContext* WithDeadline(grpc::ClientContext* ctx, absl::Duration timeout) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

}  // namespace steward::ctl
