// steward-collector: receives agent sessions, stores them in RocksDB and
// answers stewardctl. Usage: steward-collector --data-dir DIR --listen HOST:PORT
#include <signal.h>

#include <cstdio>
#include <thread>
#include <tuple>

#include "absl/strings/numbers.h"
#include "collector/service/collector_server.h"
#include "common/build_info/build_info.h"
#include "common/cli_args.h"
#include "common/duration.h"
#include "common/grpc/grpc_logging.h"
#include "common/logging.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace {
constexpr char kUsage[] =
    "usage: steward-collector --data-dir DIR [--listen HOST:PORT] [flags]\n"
    "Runs the Steward collector. On first start in an empty DIR it creates its CA\n"
    "(DIR/ca.pem, for agents' --ca-file) and DIR/admin.conf (for stewardctl --config).\n\n";
}

int main(int argc, char** argv) {
  steward::collector::CollectorOptions opts;
  std::string log_level = "info", workers = "4", retention = "15d", rollup_retention = "400d", agent_cert_ttl = "7d";
  std::string max_connections = "0", per_source = "512", max_series = "20000", new_series = "10000";
  bool help = false, version = false;
  steward::ArgParser args;
  args.Flag("data-dir", &opts.data_dir, "directory for the database, CA and admin.conf")
      .Flag("listen", &opts.listen, "address to listen on (default 127.0.0.1:7443; port 0 = any free port)")
      .Repeated("server-name", &opts.server_names, "extra DNS name or IP for the server certificate")
      .Flag("workers", &workers, "worker threads for storage and signing (default 4)")
      .Flag("retention", &retention, "how long raw samples are kept (default 15d; 0 = forever)")
      .Flag("rollup-retention", &rollup_retention, "how long 1m/5m/1h rollups are kept (default 400d; 0 = forever)")
      .Flag("agent-cert-ttl", &agent_cert_ttl,
            "lifetime of agent certificates; agents renew with a third left (default 7d, at least 1m)")
      .Flag("max-connections", &max_connections,
            "connections open at once (default 0: the file limit less 256)")
      .Flag("max-connections-per-source", &per_source, "connections open at once from one address (default 512)")
      .Flag("max-series-per-agent", &max_series, "time series one agent may have (default 20000)")
      .Flag("max-new-series-per-minute", &new_series, "series one agent may create per minute (default 10000)")
      .Flag("log-level", &log_level, "trace|debug|info|warn|error (default info)")
      .Bool("version", &version, "print the version, git commit, build type and protocol version, and exit")
      .Bool("help", &help, "show this help");
  absl::Status st = args.Parse(std::vector<std::string>(argv + 1, argv + argc), nullptr);
  if (!st.ok() || help) {
    std::fprintf(help ? stdout : stderr, "%s%s%s%s", st.ok() ? "" : "error: ",
                 st.ok() ? "" : std::string(st.message()).c_str(), st.ok() ? "" : "\n\n", kUsage);
    std::fputs(args.Usage().c_str(), help ? stdout : stderr);
    return help ? 0 : 2;
  }
  if (version) {
    std::printf("%s\n", steward::VersionText("steward-collector").c_str());
    return 0;
  }
  if (auto s = steward::SetupLogging(log_level, "collector"); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  steward::RouteGrpcLogsToSpdlog(spdlog::level::warn);
  if (opts.data_dir.empty()) {
    std::fprintf(stderr, "error: --data-dir is required\n\n%s", kUsage);
    return 2;
  }
  opts.worker_threads = std::max(1, std::atoi(workers.c_str()));
  for (auto [flag, text, out] : {std::tuple{"--max-connections", &max_connections, &opts.max_connections},
                                 std::tuple{"--max-connections-per-source", &per_source,
                                            &opts.max_connections_per_source},
                                 std::tuple{"--max-series-per-agent", &max_series, &opts.agent_limits.max_series},
                                 std::tuple{"--max-new-series-per-minute", &new_series,
                                            &opts.agent_limits.max_new_series_per_minute}}) {
    if (!absl::SimpleAtoi(*text, out)) {
      std::fprintf(stderr, "error: %s '%s' is not a whole number\n", flag, text->c_str());
      return 2;
    }
  }
  for (auto [flag, text, out] : {std::tuple{"--retention", &retention, &opts.tsdb.retention_ms},
                                 std::tuple{"--rollup-retention", &rollup_retention, &opts.tsdb.rollup_retention_ms}}) {
    auto d = text->empty() || *text == "0" ? absl::StatusOr<absl::Duration>(absl::ZeroDuration())
                                           : steward::ParseHumanDuration(*text);
    if (!d.ok() || *d < absl::ZeroDuration()) {
      std::fprintf(stderr, "error: %s '%s' is not a duration such as 15d or 12h\n", flag, text->c_str());
      return 2;
    }
    *out = absl::ToInt64Milliseconds(*d);
  }
  if (auto d = steward::ParseHumanDuration(agent_cert_ttl); !d.ok() || *d < absl::Minutes(1)) {
    std::fprintf(stderr, "error: --agent-cert-ttl '%s' is not a duration of at least 1m, such as 7d or 36h\n",
                 agent_cert_ttl.c_str());
    return 2;
  } else {
    opts.agent_cert_ttl = *d;
  }

  // Signals are taken synchronously by this thread; every other thread
  // (gRPC's, RocksDB's, workers) inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto server = steward::collector::CollectorServer::Start(opts);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().message());
    return 1;
  }
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  (*server)->Shutdown();
  server->reset();
  spdlog::info("stopped");
  return 0;
}
