#include "collector/service/collector_server.h"

#include <malloc.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/deploy/rollout_engine.h"
#include "collector/http/https_server.h"
#include "collector/install/install_catalog.h"
#include "collector/install/install_endpoint.h"
#include "collector/pki/collector_pki.h"
#include "collector/service/admin_service.h"
#include "collector/service/agent_service.h"
#include "collector/service/pre_auth.h"
#include "collector/service/session_registry.h"
#include "collector/service/work_queue.h"
#include "collector/storage/store.h"
#include "common/file_util.h"
#include "common/log_format.h"
#include "common/status_macros.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "spdlog/spdlog.h"

namespace steward::collector {

absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address '", address, "': expected HOST:PORT, e.g. 127.0.0.1:7443 or [::1]:7443"));
  };
  if (colon == std::string::npos || colon == 0) return bad();
  *host = address.substr(0, colon);
  if (host->front() == '[') {
    if (host->back() != ']') return bad();
    *host = host->substr(1, host->size() - 2);
  } else if (host->find(':') != std::string::npos) {
    return bad();  // bare IPv6 needs brackets
  }
  std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      !absl::SimpleAtoi(port_text, port) || *port > 65535) {
    return bad();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CollectorServer>> CollectorServer::Start(const CollectorOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  if (options.agent_cert_ttl < absl::Minutes(1)) {
    return absl::InvalidArgumentError("--agent-cert-ttl must be at least 1m (default 7d)");
  }
  std::string host;
  int port = 0;
  RETURN_IF_ERROR(SplitHostPort(options.listen, &host, &port));

  std::unique_ptr<CollectorServer> server(new CollectorServer());
  RETURN_IF_ERROR(MakeDirs(options.data_dir, 0700));
  if (options.raise_file_limit) {
    uint64_t before = 0;
    uint64_t limit = RaiseFileLimit(&before);
    spdlog::info("file descriptor limit: {}{}", limit,
                 limit > before ? absl::StrCat(" (raised from ", before, ")") : std::string(" (the hard limit)"));
  }
  // Bound first: a second collector on the same address fails here.
  ConnectionGateOptions gate_options;
  gate_options.max_connections = options.max_connections;
  gate_options.max_per_source = options.max_connections_per_source;
  ASSIGN_OR_RETURN(server->gate_, ConnectionGate::Listen(host, port, gate_options));
  std::vector<std::string> names = options.server_names;
  names.push_back(host);
  ASSIGN_OR_RETURN(server->pki_, CollectorPki::LoadOrCreate(options.data_dir, names));
  ASSIGN_OR_RETURN(server->store_, Store::Open(options.data_dir + "/db"));
  ASSIGN_OR_RETURN(server->blobs_, ArtifactBlobs::Open(options.data_dir + "/artifacts"));
  server->artifacts_ =
      std::make_unique<ArtifactRepository>(server->store_.get(), server->blobs_.get(), options.max_artifact_bytes);
  ASSIGN_OR_RETURN(server->metrics_, tsdb::TsdbStore::Open(options.data_dir + "/tsdb", options.tsdb));
  server->disk_ = std::make_unique<DiskGuard>(
      std::vector<std::string>{options.data_dir + "/db", options.data_dir + "/tsdb"}, options.min_free_disk_bytes);
  if (auto s = server->disk_->CheckIngest(); !s.ok()) spdlog::error("at start: {}", s.message());
  server->work_ = std::make_unique<WorkQueue>(options.worker_threads, options.max_queued_work);
  server->sessions_ = std::make_unique<SessionRegistry>();
  server->rollouts_ = std::make_unique<RolloutEngine>(
      RolloutDeps{server->store_.get(), server->artifacts_.get(), server->sessions_.get(), options.now});

  // The agent install endpoints (HTTPS), bound before anything is served.
  std::string dial_host = (host.empty() || host == "0.0.0.0") ? "127.0.0.1" : host == "::" ? "::1" : host;
  auto host_port = [](const std::string& h, int p) {
    return h.find(':') != std::string::npos ? absl::StrCat("[", h, "]:", p) : absl::StrCat(h, ":", p);
  };
  // Machines are told the first --server-name when there is one: the
  // listen address is often 0.0.0.0 or a loopback address.
  const std::string public_host = options.server_names.empty() ? dial_host : options.server_names.front();
  if (options.http_listen != "off") {
    std::string http_host = host;
    int http_port = port == 0 ? 0 : port + 1;
    if (!options.http_listen.empty()) RETURN_IF_ERROR(SplitHostPort(options.http_listen, &http_host, &http_port));
    InstallSettings install;
    install.agent_address = host_port(public_host, server->gate_->port());
    install.ca_pem = server->pki_->ca_pem();
    install.packages_dir =
        options.agent_packages_dir.empty() ? options.data_dir + "/agent-packages" : options.agent_packages_dir;
    // The default place exists from the start, for the operator to fill;
    // with it, the packaged collector's own copy of the agent is served.
    if (options.agent_packages_dir.empty()) {
      RETURN_IF_ERROR(MakeDirs(install.packages_dir, 0755));
      install.more_packages_dirs.push_back(kBundledAgentPackages);
    }
    ASSIGN_OR_RETURN(server->install_, InstallCatalog::Create(install));
    server->install_endpoint_ = std::make_unique<InstallEndpoint>(server->store_.get(), server->install_.get(),
                                                                  options.now);
    http::HttpsServerOptions https;
    https.host = http_host;
    https.port = http_port;
    https.cert_pem = server->pki_->server().cert_pem;
    https.key_pem = server->pki_->server().key_pem;
    https.client_ca_pem = server->pki_->ca_pem();  // enrolled agents download with their certificate
    InstallEndpoint* endpoint = server->install_endpoint_.get();
    auto started = http::HttpsServer::Start(
        https, [endpoint](const http::HttpRequest& r, const http::HttpPeer& p) { return endpoint->Handle(r, p); });
    if (!started.ok()) {
      return absl::Status(started.status().code(),
                          absl::StrCat("HTTPS listener (--http-listen, 'off' for none): ", started.status().message()));
    }
    server->https_ = *std::move(started);
    const bool http_wildcard = http_host.empty() || http_host == "0.0.0.0" || http_host == "::";
    const std::string http_dial = options.server_names.empty() && !http_wildcard ? http_host : public_host;
    server->download_url_ = absl::StrCat("https://", host_port(http_dial, server->https_->port()));
    server->install_->set_download_url(server->download_url_);
    spdlog::info("agent install endpoints on {} (packages from {})", server->download_url_, install.packages_dir);
  }

  ServiceDeps deps;
  deps.store = server->store_.get();
  deps.metrics = server->metrics_.get();
  deps.artifacts = server->artifacts_.get();
  deps.pki = server->pki_.get();
  deps.work = server->work_.get();
  deps.sessions = server->sessions_.get();
  deps.rollouts = server->rollouts_.get();
  deps.disk = server->disk_.get();
  deps.limits = options.agent_limits;
  deps.now = options.now;
  deps.data_dir = options.data_dir;
  deps.agent_cert_ttl = options.agent_cert_ttl;
  deps.started = options.now();
  deps.install = server->install_.get();
  server->agent_service_ = std::make_unique<AgentServiceImpl>(deps, options.enrollment_limits);
  server->admin_service_ = std::make_unique<AdminServiceImpl>(deps);

  // Client certificates are requested and verified when present; Enroll is
  // the one call made without one, every other handler demands it.
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = server->pki_->ca_pem();
  ssl.pem_key_cert_pairs.push_back({server->pki_->server().key_pem, server->pki_->server().cert_pem});

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(ssl);
  creds->SetAuthMetadataProcessor(MakeCertificateRequiredProcessor());

  grpc::ServerBuilder builder;
  // Connections come from the gate (caps, descriptor exhaustion), not from
  // a port gRPC listens on itself.
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, creds);
  builder.SetMaxReceiveMessageSize(options.max_receive_bytes);
  // Streams one connection may have open: an agent needs two (Connect and
  // a download), a script a few; the bound caps what one peer can make the
  // collector buffer.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.handshake_timeout)));
  // Keepalive: notice dead agents (NAT drops, power loss) within minutes.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(server->agent_service_.get());
  builder.RegisterService(server->admin_service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_) return absl::InternalError("cannot start the gRPC server");
  server->gate_->Start(std::move(acceptor));
  int bound_port = server->gate_->port();
  spdlog::info("accepting at most {} connections ({} per source address), TLS handshake within {}",
               server->gate_->max_connections(), options.max_connections_per_source,
               absl::FormatDuration(options.handshake_timeout));
  server->address_ = host_port(dial_host, bound_port);
  RETURN_IF_ERROR(server->pki_->WriteAdminConfig(server->address_));
  // Heads of series that went quiet are persisted by age, not by appends.
  tsdb::TsdbStore* metrics = server->metrics_.get();
  absl::Notification* stop = &server->stop_maintenance_;
  server->maintenance_ = std::thread([metrics, stop, every = options.tsdb_maintenance_every] {
    while (!stop->WaitForNotificationWithTimeout(every)) {
      if (auto s = metrics->Maintain(); !s.ok()) spdlog::error("time-series maintenance: {}", s);
      // Memory freed since (streams of agents that left, snapshots applied,
      // chunks encoded) back to the system: glibc keeps freed memory in
      // its arenas and returns it only on a trim.
      malloc_trim(0);
    }
  });
  // Rollouts resume from their stored state (a restart mid-rollout).
  server->rollout_scheduler_ = std::make_unique<RolloutScheduler>(server->rollouts_.get(), options.rollout_tick);
  spdlog::info("collector listening on {} (data in {})", server->address_, options.data_dir);
  return server;
}

void CollectorServer::Shutdown(absl::Duration grace) {
  if (https_) https_->Stop();
  if (gate_) gate_->Stop();
  if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

ConnectionGateStats CollectorServer::connection_stats() const {
  return gate_ ? gate_->stats() : ConnectionGateStats{};
}

size_t CollectorServer::max_connections() const { return gate_ ? gate_->max_connections() : 0; }

void CollectorServer::Wait() {
  if (server_) server_->Wait();
}

CollectorServer::~CollectorServer() {
  rollout_scheduler_.reset();
  if (maintenance_.joinable()) {
    stop_maintenance_.Notify();
    maintenance_.join();
  }
  Shutdown();
  server_.reset();
  work_.reset();  // drain before the stores go
  metrics_.reset();
}

}  // namespace steward::collector
