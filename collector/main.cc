// steward-collector: receives agent sessions, stores them in RocksDB and
// answers stewardctl. Usage: steward-collector --data-dir DIR --listen HOST:PORT
// (or a config file: collector/service/collector_config.h).
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/backup/collector_backup.h"
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
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's
  // deadlock detection on: every lock updates a global lock-order graph
  // (3-4% of the collector's CPU with thousands of agents, by perf). The
  // tests keep it on; the server does not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc raises its mmap threshold each time a large block is freed (up
  // to 32 MB), after which agents' large messages (snapshots, batches of
  // 0.5-1 MB) come from the arenas and stay there when freed: 95 MB of the
  // collector's 231 MB after the tsdb benchmark's ingest, until the
  // minute's malloc_trim. A fixed threshold keeps them in mmap, returned
  // at free (two system calls per large message).
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
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
  if (!config->verify_backup.empty()) {
    const absl::Time start = absl::Now();
    auto manifest = steward::collector::VerifyBackup(config->verify_backup);
    if (!manifest.ok()) {
      std::fprintf(stderr, "error: the backup in %s is not intact: %s\n", config->verify_backup.c_str(),
                   std::string(manifest.status().message()).c_str());
      return 1;
    }
    uint64_t bytes = 0;
    for (const auto& f : manifest->files) bytes += f.size;
    std::printf(
        "%s: intact: %zu files, %llu bytes, checksums verified in %lld ms\n"
        "taken %s by steward-collector %s (storage format %u)\n",
        config->verify_backup.c_str(), manifest->files.size(), static_cast<unsigned long long>(bytes),
        static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)),
        absl::FormatTime(absl::FromUnixMillis(manifest->created_unix_ms), absl::UTCTimeZone()).c_str(),
        manifest->collector_version.c_str(), manifest->storage_format);
    return 0;
  }
  if (auto s = steward::SetupLogging(config->log_level, "collector"); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (!config->restore_from.empty()) {
    auto restored = steward::collector::RestoreBackup(config->restore_from, config->options.data_dir);
    if (!restored.ok()) {
      std::fprintf(stderr, "error: cannot restore %s: %s\n", config->restore_from.c_str(),
                   std::string(restored.status().message()).c_str());
      return 1;
    }
    std::printf(
        "restored %s into %s: %llu files, %llu bytes, checksums verified, in %lld ms\n"
        "backup taken %s by steward-collector %s (storage format %u)\n"
        "start the collector with: steward-collector --data-dir %s\n",
        config->restore_from.c_str(), config->options.data_dir.c_str(),
        static_cast<unsigned long long>(restored->files), static_cast<unsigned long long>(restored->bytes),
        static_cast<long long>(absl::ToInt64Milliseconds(restored->duration)),
        absl::FormatTime(absl::FromUnixMillis(restored->manifest.created_unix_ms), absl::UTCTimeZone()).c_str(),
        restored->manifest.collector_version.c_str(), restored->manifest.storage_format,
        config->options.data_dir.c_str());
    return 0;
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
