#pragma once
// Refuses, from the call's headers alone, every call made without a
// verified client certificate except AgentService/Enroll. It runs in
// gRPC's server auth filter, before the request message is parsed: a peer
// without a certificate cannot make the collector build a large request
// of any other method (the handlers still check the certificate's role).

#include <memory>

namespace grpc {
class AuthMetadataProcessor;
}

namespace steward::collector {

std::shared_ptr<grpc::AuthMetadataProcessor> MakeCertificateRequiredProcessor();

}  // namespace steward::collector
