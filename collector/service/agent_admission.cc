#include "collector/service/agent_admission.h"

#include "absl/strings/str_cat.h"
#include "collector/storage/store.h"
#include "common/duration.h"

namespace steward::collector {

absl::StatusOr<internal::AgentRecord> AdmitAgent(Store& store, const AgentPeer& peer, absl::Time now) {
  const std::string& id = peer.agent_id;
  if (peer.cert_not_after_unix != 0 && absl::ToUnixSeconds(now) >= peer.cert_not_after_unix) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the certificate of agent ", id, " expired at ", FormatRfc3339(absl::FromUnixSeconds(peer.cert_not_after_unix)),
        "; the agent re-enrolls with an enrollment token, or an operator gives it one bound to this host with "
        "'stewardctl hosts renew ", id, "'"));
  }
  absl::StatusOr<internal::AgentRecord> rec = store.GetAgent(id);
  if (absl::IsNotFound(rec.status())) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agent ", id, " is not registered here (removed with 'stewardctl hosts rm', or enrolled with another "
        "collector); to enroll it again, remove agent.id from its state directory and start it with a token"));
  }
  if (!rec.ok()) return rec.status();
  if (rec->disabled()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agent ", id, " is disabled (since ", FormatRfc3339(absl::FromUnixMillis(rec->disabled_ms())),
        rec->disabled_by().empty() ? "" : absl::StrCat(", by ", rec->disabled_by()),
        "); an operator can enable it with 'stewardctl hosts enable ", id, "'"));
  }
  // An empty serial: a record from before serials were kept; nothing to compare.
  const bool current = rec->cert_serial().empty() || peer.cert_serial == rec->cert_serial();
  const bool previous = !rec->previous_cert_serial().empty() && peer.cert_serial == rec->previous_cert_serial();
  if (!current && !previous) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate ", peer.cert_serial, " is no longer valid for agent ", id,
        " (it was renewed or replaced since; a copy of an old key is refused); if this is the real agent, an "
        "operator can issue it a renewal token with 'stewardctl hosts renew ", id, "'"));
  }
  return rec;
}

}  // namespace steward::collector
