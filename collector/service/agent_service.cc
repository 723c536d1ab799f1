#include "collector/service/agent_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "collector/pki/collector_pki.h"
#include "collector/service/peer_identity.h"
#include "collector/service/artifact_reactors.h"
#include "collector/service/session_reactor.h"
#include "collector/service/session_registry.h"
#include "collector/service/work_queue.h"
#include "collector/storage/disk_guard.h"
#include "collector/storage/store.h"
#include "common/crypto.h"
#include "common/grpc/status_convert.h"
#include "common/status_macros.h"
#include "common/log_format.h"
#include "common/wire/agent_text.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

// Ends a Connect call at once with an error (bad or missing credentials).
class RejectedSession final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RejectedSession(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

absl::Status DoEnroll(const ServiceDeps& deps, const v1::EnrollRequest& req, v1::EnrollResponse* resp) {
  std::vector<std::string> parts = absl::StrSplit(req.token(), '.');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::UnauthenticatedError(
        "enrollment token is malformed (expected the exact text 'stewardctl token create' printed)");
  }
  if (req.csr_pem().empty()) return absl::InvalidArgumentError("csr_pem is empty");
  int64_t now_ms = absl::ToUnixMillis(deps.now());
  ASSIGN_OR_RETURN(internal::TokenRecord token, deps.store->CheckToken(parts[0], parts[1], now_ms / 1000));
  // A renewal token (stewardctl hosts renew) keeps the agent's id and data.
  const bool renewal = !token.agent_id().empty();
  if (!renewal && !req.previous_agent_id().empty()) {
    // The agent enrolls again (its certificate expired): not while an
    // operator keeps its previous identity disabled.
    absl::StatusOr<internal::AgentRecord> previous = deps.store->GetAgent(req.previous_agent_id());
    if (previous.ok() && previous->disabled()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "this host's agent ", req.previous_agent_id(), " is disabled; an operator enables it ('stewardctl hosts "
          "enable ", req.previous_agent_id(), "') or removes it ('stewardctl hosts rm ", req.previous_agent_id(),
          "') before it can enroll again"));
    }
  }
  std::string agent_id = renewal ? token.agent_id() : RandomHex(8);
  ASSIGN_OR_RETURN(std::string cert_pem,
                   deps.pki->SignAgentCsr(req.csr_pem(), agent_id, deps.agent_cert_ttl, deps.now()));
  ASSIGN_OR_RETURN(CertInfo info, InspectCert(cert_pem));

  internal::AgentRecord rec;
  rec.set_agent_id(agent_id);
  *rec.mutable_facts() = req.facts();
  rec.set_agent_version(req.agent_version());
  rec.set_enrolled_ms(now_ms);
  rec.set_last_seen_ms(now_ms);
  rec.set_cert_serial(info.serial_hex);
  rec.set_cert_not_after_unix(info.not_after_unix);
  RETURN_IF_ERROR(deps.store->EnrollWithToken(parts[0], parts[1], now_ms / 1000, rec));
  ASSIGN_OR_RETURN(rec, deps.store->GetAgent(agent_id));

  resp->set_agent_id(agent_id);
  resp->set_cert_pem(cert_pem);
  resp->set_ca_pem(deps.pki->ca_pem());
  *resp->mutable_labels() = rec.labels();
  if (renewal) {
    // Its open session (if any) used the certificate just replaced.
    deps.sessions->CloseAgent(agent_id, absl::UnauthenticatedError("the agent re-enrolled with a renewal token"));
    spdlog::info("agent {} re-enrolled with renewal token {} (host '{}'); its previous certificate is refused",
                 agent_id, parts[0], EscapeForDisplay(req.facts().hostname()));
    return absl::OkStatus();
  }
  spdlog::info("enrolled agent {} (host '{}', token {})", agent_id, EscapeForDisplay(req.facts().hostname()),
               parts[0]);
  return absl::OkStatus();
}

}  // namespace

std::string PeerAddress(const std::string& peer) {
  absl::string_view p = peer;
  size_t colon = p.find(':');
  if (colon == absl::string_view::npos) return std::string(p);
  p.remove_prefix(colon + 1);  // "ipv4:" / "ipv6:"
  if (!p.empty() && p.front() == '[') {
    size_t end = p.find(']');
    return std::string(p.substr(1, end == absl::string_view::npos ? absl::string_view::npos : end - 1));
  }
  size_t port = p.rfind(':');
  return std::string(port == absl::string_view::npos ? p : p.substr(0, port));
}

AgentServiceImpl::AgentServiceImpl(ServiceDeps deps, EnrollmentLimits limits)
    : deps_(std::move(deps)),
      per_source_(limits.per_source_per_second, limits.per_source_burst),
      per_token_(limits.per_token_per_second, limits.per_token_burst) {}

void AgentServiceImpl::NoteRateRefusal() {
  uint64_t total = ++rate_refusals_;
  int64_t now_ms = absl::ToUnixMillis(deps_.now());
  int64_t last = last_refusal_log_ms_.load();
  if (now_ms - last < 60000 || !last_refusal_log_ms_.compare_exchange_strong(last, now_ms)) return;
  uint64_t before = logged_refusals_.exchange(total);
  spdlog::warn("enrollment: {} attempts refused for their rate since the last report ({} since start)",
               total - before, total);
}

grpc::ServerUnaryReactor* AgentServiceImpl::Enroll(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw,
                                                   grpc::ByteBuffer* raw_resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto refuse = [reactor](grpc::StatusCode code, std::string why) {
    reactor->Finish(grpc::Status(code, why));
    return reactor;
  };
  // Everything before the work queue is cheap and bounded: this is the one
  // call anyone who reaches the port may make.
  absl::Time now = deps_.now();
  absl::Duration retry;
  if (!per_source_.Allow(PeerAddress(ctx->peer()), now, &retry)) {
    NoteRateRefusal();
    return refuse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat("too many enrollment attempts from this address; retry in ",
                               absl::FormatDuration(absl::Ceil(retry, absl::Seconds(1)))));
  }
  if (raw->Length() > kMaxEnrollRequestBytes) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("enrollment request of ", raw->Length(), " bytes is over the limit of ",
                               kMaxEnrollRequestBytes, " bytes"));
  }
  auto req = std::make_shared<v1::EnrollRequest>();
  {
    grpc::ByteBuffer copy(*raw);  // shares the slices
    grpc::ProtoBufferReader reader(&copy);
    if (!req->ParseFromZeroCopyStream(&reader)) {
      return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                    "enrollment request does not parse (a string that is not UTF-8, or not an EnrollRequest)");
    }
  }
  req->DiscardUnknownFields();
  if (auto s = CheckAgentText(*req); !s.ok()) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("enrollment request: ", s.message()));
  }
  if (deps_.disk != nullptr) {
    if (absl::Status full = deps_.disk->CheckIngest(); !full.ok()) {
      return refuse(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(full.message()));
    }
  }
  absl::string_view token_id = req->token().substr(0, req->token().find('.'));
  if (!per_token_.Allow(token_id, now, &retry)) {
    NoteRateRefusal();
    return refuse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat("too many enrollment attempts with this token; retry in ",
                               absl::FormatDuration(absl::Ceil(retry, absl::Seconds(1)))));
  }
  bool queued = deps_.work->TrySubmit([this, req, raw_resp, reactor] {
    v1::EnrollResponse resp;
    absl::Status s = DoEnroll(deps_, *req, &resp);
    if (!s.ok()) {
      spdlog::warn("enrollment refused: {}", s.ToString());
      reactor->Finish(ToGrpcStatus(s));
      return;
    }
    bool own = false;
    grpc::Status serialized = grpc::SerializationTraits<v1::EnrollResponse>::Serialize(resp, raw_resp, &own);
    reactor->Finish(serialized);
  });
  if (!queued) reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector is overloaded; retry"));
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* AgentServiceImpl::Connect(
    grpc::CallbackServerContext* ctx) {
  auto peer = AgentPeerFromContext(*ctx);
  if (!peer.ok()) return new RejectedSession(peer.status());
  return new SessionReactor(deps_, *std::move(peer), ctx);
}

grpc::ServerWriteReactor<v1::FetchArtifactResponse>* AgentServiceImpl::FetchArtifact(
    grpc::CallbackServerContext* ctx, const v1::FetchArtifactRequest* req) {
  auto peer = AgentPeerFromContext(*ctx);
  if (!peer.ok()) {
    return new RejectedCall<grpc::ServerWriteReactor<v1::FetchArtifactResponse>>(ToGrpcStatus(peer.status()));
  }
  return new FetchArtifactReactor(deps_, *std::move(peer), *req);
}

}  // namespace steward::collector
