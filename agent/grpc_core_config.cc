// The gRPC features the agent's one channel uses, and nothing else.
//
// gRPC builds its plugin registry (resolvers, load-balancing policies,
// filters, handshakers) by calling grpc_core::BuildCoreConfiguration once, at
// the first channel. Debian's libgrpc defines it in grpc_plugin_registry.cc
// and registers everything gRPC has, the xDS client and its Envoy messages,
// RLS, grpclb, ring hash and c-ares included. The agent dials one collector
// address over TLS with pick_first; the rest is code it maps and never runs.
//
// Defining the function here replaces Debian's: in the static agent the
// archive member that holds it is then never pulled in, nor what only it
// refers to (with --gc-sections that is about 3 MB of the binary, see
// docs/benchmarks.md); in a build against libgrpc.so the executable's
// definition interposes the library's, so the agent runs with the same
// registry in every build and the tests exercise it.
//
// The registration functions are gRPC internals whose headers Debian does not
// ship; only their mangled names matter, so CoreConfiguration::Builder is
// declared here as an opaque type (nothing here touches its layout). The list
// follows gRPC 1.51's grpc_plugin_registry.cc, minus what the agent does not
// use: priority, weighted_target, outlier_detection, ring_hash, grpclb, RLS
// and every xDS policy, the fake and c-ares resolvers (the native resolver
// registers itself as "dns" when no other does), fault injection, and the
// extra filters (RBAC, xDS, Google default credentials, file-watcher
// certificates).

namespace grpc_core {

class CoreConfiguration {
 public:
  class Builder;
};

void RegisterBuiltins(CoreConfiguration::Builder* builder);
void RegisterHttpConnectHandshaker(CoreConfiguration::Builder* builder);
void RegisterTCPConnectHandshaker(CoreConfiguration::Builder* builder);
void RegisterPickFirstLbPolicy(CoreConfiguration::Builder* builder);
void RegisterRoundRobinLbPolicy(CoreConfiguration::Builder* builder);
void BuildClientChannelConfiguration(CoreConfiguration::Builder* builder);
void SecurityRegisterHandshakerFactories(CoreConfiguration::Builder* builder);
void RegisterClientAuthorityFilter(CoreConfiguration::Builder* builder);
void RegisterChannelIdleFilters(CoreConfiguration::Builder* builder);
void RegisterHttpFilters(CoreConfiguration::Builder* builder);
void RegisterDeadlineFilter(CoreConfiguration::Builder* builder);
void RegisterMessageSizeFilter(CoreConfiguration::Builder* builder);
void RegisterServiceConfigChannelArgFilter(CoreConfiguration::Builder* builder);
void RegisterResourceQuota(CoreConfiguration::Builder* builder);
void RegisterNativeDnsResolver(CoreConfiguration::Builder* builder);
void RegisterSockaddrResolver(CoreConfiguration::Builder* builder);
void RegisterHttpProxyMapper(CoreConfiguration::Builder* builder);
void RegisterSecurityFilters(CoreConfiguration::Builder* builder);

}  // namespace grpc_core

namespace grpc_event_engine::experimental {
void RegisterEventEngineChannelArgPreconditioning(
    grpc_core::CoreConfiguration::Builder* builder);
}  // namespace grpc_event_engine::experimental

namespace grpc_core {

// Same order as gRPC's own: later registrations may rely on earlier ones
// (the client channel's filters on the handshakers, "dns" on the native
// resolver being the only one).
void BuildCoreConfiguration(CoreConfiguration::Builder* builder) {
  grpc_event_engine::experimental::RegisterEventEngineChannelArgPreconditioning(builder);
  RegisterHttpConnectHandshaker(builder);  // https_proxy / grpc_proxy
  RegisterTCPConnectHandshaker(builder);
  RegisterPickFirstLbPolicy(builder);
  RegisterRoundRobinLbPolicy(builder);  // a service config may still name it
  BuildClientChannelConfiguration(builder);
  SecurityRegisterHandshakerFactories(builder);
  RegisterClientAuthorityFilter(builder);
  RegisterChannelIdleFilters(builder);
  RegisterHttpFilters(builder);
  RegisterDeadlineFilter(builder);
  RegisterMessageSizeFilter(builder);
  RegisterServiceConfigChannelArgFilter(builder);
  RegisterResourceQuota(builder);
  RegisterNativeDnsResolver(builder);
  RegisterSockaddrResolver(builder);
  RegisterHttpProxyMapper(builder);
  RegisterSecurityFilters(builder);
  RegisterBuiltins(builder);
}

}  // namespace grpc_core
