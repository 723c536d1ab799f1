#include "common/grpc/grpc_logging.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "grpc/support/log.h"
#include "spdlog/spdlog.h"

namespace steward {
namespace {

std::atomic<spdlog::level::level_enum> g_errors_at{spdlog::level::warn};
// Cleared at exit, before spdlog's registry is destroyed (see Route...).
std::atomic<bool> g_logger_alive{false};

spdlog::level::level_enum LevelOf(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_ERROR:
      return g_errors_at.load(std::memory_order_relaxed);
    case GPR_LOG_SEVERITY_INFO:
      return spdlog::level::debug;
    default:
      return spdlog::level::trace;
  }
}

void LogToSpdlog(gpr_log_func_args* args) {
  if (!g_logger_alive.load(std::memory_order_acquire)) return;
  spdlog::logger* logger = spdlog::default_logger_raw();
  const spdlog::level::level_enum level = LevelOf(args->severity);
  if (logger == nullptr || !logger->should_log(level)) return;
  const char* file = args->file != nullptr ? args->file : "?";
  if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
  logger->log(level, "grpc {}:{}: {}", file, args->line,
              args->message != nullptr ? args->message : "");
}

void StopRouting() { g_logger_alive.store(false, std::memory_order_release); }

}  // namespace

void RouteGrpcLogsToSpdlog(spdlog::level::level_enum errors_at) {
  g_errors_at.store(errors_at, std::memory_order_relaxed);
  // Creating the default logger first makes spdlog's registry (a function
  // static) older than the atexit handler below, so the handler runs
  // before the registry is destroyed.
  spdlog::logger* logger = spdlog::default_logger_raw();
  static const bool registered = [] { return std::atexit(StopRouting) == 0; }();
  (void)registered;
  g_logger_alive.store(true, std::memory_order_release);
  gpr_set_log_function(LogToSpdlog);
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    // The least severe of gRPC's levels that the logger would print; gRPC
    // skips formatting anything below it.
    gpr_log_severity min = GPR_LOG_SEVERITY_ERROR;
    for (gpr_log_severity s : {GPR_LOG_SEVERITY_INFO, GPR_LOG_SEVERITY_DEBUG}) {
      if (logger->should_log(LevelOf(s))) min = s;
    }
    gpr_set_log_verbosity(min);
  }
}

}  // namespace steward
