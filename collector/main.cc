// steward-collector: receives agent sessions, stores them in RocksDB and
// answers stewardctl. Usage: steward-collector --data-dir DIR --listen HOST:PORT
// (or a config file: collector/service/collector_config.h).
#include <signal.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "collector/service/collector_config.h"
#include "collector/service/collector_server.h"
#include "common/build_info/build_info.h"
#include "common/grpc/grpc_logging.h"
#include "common/log_format.h"
#include "common/logging.h"
#include "common/systemd/service_notifier.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  // First, before any thread: it takes the service manager's variables out
  // of the environment.
  const steward::ServiceNotifier notifier = steward::ServiceNotifier::FromEnvironment();
  bool help = false;
  auto config = steward::collector::ParseCollectorConfig(
      std::vector<std::string>(argv + 1, argv + argc), &help);
  if (help) {
    std::fputs(steward::collector::CollectorUsage().c_str(), stdout);
    return 0;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n\n%s", std::string(config.status().message()).c_str(),
                 steward::collector::CollectorUsage().c_str());
    return 2;
  }
  if (config->show_version) {
    std::printf("%s\n", steward::VersionText("steward-collector").c_str());
    return 0;
  }
  if (auto s = steward::SetupLogging(config->log_level, "collector"); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  steward::RouteGrpcLogsToSpdlog(spdlog::level::warn);
  if (!config->config_file.empty()) spdlog::info("settings from {}", config->config_file);
  auto tell = [&notifier](absl::Status s) {
    if (!s.ok()) spdlog::warn("cannot tell the service manager: {}", s.message());
  };

  // Signals are taken synchronously by this thread; every other thread
  // (gRPC's, RocksDB's, workers) inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto server = steward::collector::CollectorServer::Start(config->options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().message());
    return 1;
  }
  // Listening, database open, admin.conf written (Type=notify).
  tell(notifier.Ready());
  tell(notifier.Status(absl::StrCat("listening on ", config->options.listen, ", data in ",
                                    config->options.data_dir)));
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  tell(notifier.Stopping());
  (*server)->Shutdown();
  server->reset();
  spdlog::info("stopped");
  return 0;
}
