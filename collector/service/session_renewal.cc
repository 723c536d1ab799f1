// SessionReactor: certificate renewal over the open stream. The agent asks
// with a CSR for a new key when a third of its certificate's lifetime is
// left; the collector signs it for the stream's own agent id (from the
// verified peer certificate, never from the message), records the new
// serial as current and the old one as previous (accepted until the agent
// first connects with the new one), and sends the certificate back.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "collector/pki/collector_pki.h"
#include "collector/service/agent_admission.h"
#include "collector/service/session_reactor.h"
#include "collector/storage/store.h"
#include "common/duration.h"
#include "common/status_macros.h"
#include "common/tls/pki.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {
// A P-256 or RSA-4096 CSR is 0.5 to 2 KiB.
constexpr size_t kMaxCsrBytes = 16 << 10;
// No renewal this long (at most; a quarter of the certificate lifetime for
// short ones) after a session of the agent was replaced: two holders of one
// key fight over the session, and the first to renew would otherwise make
// the other's certificate invalid. The real agent retries later (it renews
// with a third of the lifetime left); a copy's certificate runs out. A
// reconnect racing the end of its own old stream (after a NAT drop, or
// right after a renewal) also counts, which only delays the next renewal.
constexpr absl::Duration kQuietAfterReplace = absl::Hours(1);
}  // namespace

absl::Status SessionReactor::HandleRenew(const v1::RenewCertificate& renew) {
  if (renew.csr_pem().empty() || renew.csr_pem().size() > kMaxCsrBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("RenewCertificate.csr_pem must hold a PEM CSR of 1 to ", kMaxCsrBytes, " bytes"));
  }
  const absl::Time now = deps_.now();
  // Disabled, removed or replaced since the Hello: no certificate.
  ASSIGN_OR_RETURN(internal::AgentRecord rec, AdmitAgent(*deps_.store, peer_, now));
  if (!rec.cert_serial().empty() && peer_.cert_serial != rec.cert_serial()) {
    return absl::FailedPreconditionError(
        "this stream uses a certificate that a renewal already replaced; reconnect with the new one");
  }
  const absl::Duration quiet = std::min(kQuietAfterReplace, deps_.agent_cert_ttl / 4);
  if (rec.session_replaced_ms() != 0 && now - absl::FromUnixMillis(rec.session_replaced_ms()) < quiet) {
    spdlog::warn("agent {} (from {}): certificate renewal refused: its session was replaced at {} (two connections "
                 "with one identity: a possible clone)",
                 agent_id_, peer_.address, FormatRfc3339(absl::FromUnixMillis(rec.session_replaced_ms())));
    return absl::FailedPreconditionError(absl::StrCat(
        "certificate renewal refused: agent ", agent_id_, " was connected twice at once at ",
        FormatRfc3339(absl::FromUnixMillis(rec.session_replaced_ms())),
        " (a possible copy of its key); renewal is possible again ", absl::FormatDuration(quiet),
        " later, or an operator disables the host and issues 'stewardctl hosts renew ", agent_id_, "'"));
  }
  ASSIGN_OR_RETURN(std::string cert_pem, deps_.pki->SignAgentCsr(renew.csr_pem(), agent_id_, deps_.agent_cert_ttl, now));
  ASSIGN_OR_RETURN(CertInfo info, InspectCert(cert_pem));
  RETURN_IF_ERROR(deps_.store->RecordRenewedCert(agent_id_, peer_.cert_serial, info.serial_hex, info.not_after_unix));
  spdlog::info("agent {}: certificate renewed (serial {} -> {}, valid until {})", agent_id_, peer_.cert_serial,
               info.serial_hex, FormatRfc3339(absl::FromUnixSeconds(info.not_after_unix)));
  v1::CollectorMessage msg;
  v1::RenewedCertificate* out = msg.mutable_renewed_certificate();
  out->set_cert_pem(std::move(cert_pem));
  out->set_ca_pem(deps_.pki->ca_pem());
  out->set_not_after_unix(info.not_after_unix);
  Send(std::move(msg));
  return absl::OkStatus();
}

}  // namespace steward::collector
