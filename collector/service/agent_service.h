#pragma once
// AgentService on the gRPC callback API: Enroll (unary) and Connect (one
// SessionReactor per stream, no thread per stream). Blocking work runs on
// the shared WorkQueue.
//
// Enroll and Connect are raw methods (bytes, parsed here): Enroll is the one
// call anyone may make without a certificate, so its size is checked and its
// caller rate-limited (per source address, then per token id) before
// anything is parsed or signed; Connect judges each message by its kind's
// size limit before parsing (SessionReactor).

#include <atomic>

#include "absl/time/time.h"
#include "collector/net/rate_limiter.h"
#include "collector/service/service_deps.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::collector {

// Largest EnrollRequest accepted (a CSR and the host's facts fit in a few KiB).
inline constexpr size_t kMaxEnrollRequestBytes = 16 << 10;

// Enrollment attempts allowed: per source address, a burst then a rate;
// per token id the same, larger (a fleet install uses one token from many
// hosts at once).
struct EnrollmentLimits {
  double per_source_burst = 20;
  double per_source_per_second = 2;
  double per_token_burst = 200;
  double per_token_per_second = 20;
};

using AgentServiceBase = v1::AgentService::WithRawCallbackMethod_Enroll<
    v1::AgentService::WithRawCallbackMethod_Connect<v1::AgentService::WithCallbackMethod_FetchArtifact<
        v1::AgentService::Service>>>;

class AgentServiceImpl final : public AgentServiceBase {
 public:
  explicit AgentServiceImpl(ServiceDeps deps, EnrollmentLimits limits = {});

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                   grpc::ByteBuffer* resp) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Connect(grpc::CallbackServerContext* ctx) override;
  grpc::ServerWriteReactor<v1::FetchArtifactResponse>* FetchArtifact(grpc::CallbackServerContext* ctx,
                                                                     const v1::FetchArtifactRequest* req) override;

  // Enrollment attempts refused for their rate since start.
  uint64_t enroll_rate_refusals() const { return rate_refusals_.load(); }

 private:
  // Counts a refusal and logs a summary at most once a minute.
  void NoteRateRefusal();

  ServiceDeps deps_;
  KeyedRateLimiter per_source_;
  KeyedRateLimiter per_token_;
  std::atomic<uint64_t> rate_refusals_{0};
  std::atomic<uint64_t> logged_refusals_{0};
  std::atomic<int64_t> last_refusal_log_ms_{0};
};

// The address part of a gRPC peer string ("ipv4:127.0.0.1:5000" ->
// "127.0.0.1", "ipv6:[::1]:5000" -> "::1").
std::string PeerAddress(const std::string& peer);

}  // namespace steward::collector
