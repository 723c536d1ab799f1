#include "collector/service/pre_auth.h"

#include "grpcpp/security/auth_metadata_processor.h"

namespace steward::collector {
namespace {

constexpr char kEnrollPath[] = "/steward.v1.AgentService/Enroll";

class CertificateRequired final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }  // cheap: runs inline

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    if (context != nullptr && context->IsPeerAuthenticated()) return grpc::Status::OK;
    auto path = metadata.find(":path");
    if (path == metadata.end() || path->second == kEnrollPath) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "no verified client certificate: only Enroll may be called without one");
  }
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> MakeCertificateRequiredProcessor() {
  return std::make_shared<CertificateRequired>();
}

}  // namespace steward::collector
