#pragma once
// AgentService on the gRPC callback API: Enroll (unary) and Connect (one
// SessionReactor per stream, no thread per stream). Blocking work runs on
// the shared WorkQueue.

#include "collector/service/service_deps.h"
#include "steward/v1/agent.grpc.pb.h"

namespace steward::collector {

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  explicit AgentServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* ctx, const v1::EnrollRequest* req,
                                   v1::EnrollResponse* resp) override;
  grpc::ServerBidiReactor<v1::AgentMessage, v1::CollectorMessage>* Connect(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerWriteReactor<v1::FetchArtifactResponse>* FetchArtifact(grpc::CallbackServerContext* ctx,
                                                                     const v1::FetchArtifactRequest* req) override;

 private:
  ServiceDeps deps_;
};

}  // namespace steward::collector
