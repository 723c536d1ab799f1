// steward-agent: enrolls with a collector once, then reports this host's
// inventory and metrics over one long-lived stream. See AgentUsage().
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/artifacts/artifact_fetcher.h"
#include "agent/facts/host_facts.h"
#include "agent/jobs/dpkg_backend.h"
#include "agent/jobs/job_executor.h"
#include "agent/jobs/job_runner.h"
#include "agent/jobs/rpm_backend.h"
#include "agent/jobs/self_update.h"
#include "common/exec/tool_runner.h"
#include "agent/session/agent_config.h"
#include "agent/session/agent_runner.h"
#include "agent/session/identity.h"
#include "agent/session/outbox.h"
#include "agent/session/reports.h"
#include "common/build_info/build_info.h"
#include "common/file_util.h"
#include "common/grpc/grpc_logging.h"
#include "common/logging.h"
#include "common/systemd/service_notifier.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

using namespace steward::agent;
namespace v1 = steward::v1;

int main(int argc, char** argv) {
  // First, before any thread: it takes the service manager's variables out
  // of the environment that dpkg and the tools the agent runs inherit.
  const steward::ServiceNotifier notifier = steward::ServiceNotifier::FromEnvironment();
  bool help = false;
  auto config = ParseAgentConfig(std::vector<std::string>(argv + 1, argv + argc), &help,
                                 std::getenv("STEWARD_ENROLL_TOKEN"), kDefaultAgentConfig);
  if (help) {
    std::fputs(AgentUsage().c_str(), stdout);
    return 0;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n\n%s", std::string(config.status().message()).c_str(), AgentUsage().c_str());
    return 2;
  }
  if (config->show_version) {
    std::printf("%s\n", steward::VersionText("steward-agent").c_str());
    return 0;
  }
  if (auto s = steward::SetupLogging(config->log_level, "agent"); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  steward::RouteGrpcLogsToSpdlog(spdlog::level::warn);
  if (!config->config_file.empty()) spdlog::info("settings from {}", config->config_file);
  // The publishers this agent trusts: a bad key file stops it here, not at
  // the first deployment.
  auto trusted = ArtifactFetcher::LoadTrustedKeys(config->trusted_keys);
  if (!trusted.ok()) {
    std::fprintf(stderr, "error: trusted key %s\n", std::string(trusted.status().message()).c_str());
    return 2;
  }
  if (trusted->empty()) {
    spdlog::info("no --trusted-key: this agent installs no artifact and runs no job that changes the host");
  } else {
    std::string ids;
    for (const auto& k : *trusted) ids += (ids.empty() ? "" : ", ") + k.key_id();
    spdlog::info("trusting {} publisher key(s): {}", trusted->size(), ids);
  }
  // SIGTERM/SIGINT are taken by a dedicated thread; all others inherit the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto ca_pem = steward::ReadFile(config->ca_file);
  if (!ca_pem.ok()) {
    spdlog::error("cannot read the collector CA: {}", ca_pem.status().message());
    return 1;
  }
  auto identity = LoadIdentity(config->state_dir);
  if (!identity.ok() && absl::IsNotFound(identity.status())) {
    auto token = CurrentEnrollToken(*config);
    // Exit 2 like every other setting error: the unit does not restart on
    // it (RestartPreventExitStatus=2), an operator has to give a token.
    if (!token.ok()) {
      spdlog::error("not enrolled yet ({} holds no identity): {}", config->state_dir, token.status().message());
      return 2;
    }
    if (token->empty()) {
      spdlog::error("not enrolled yet ({} holds no identity): give an enrollment token (from 'stewardctl token "
                    "create') with --enroll-token-file FILE, STEWARD_ENROLL_TOKEN or --enroll-token",
                    config->state_dir);
      return 2;
    }
    FactsPaths paths;
    paths.os_release = config->os_release;
    paths.proc_root = config->proc_root;
    ParseReport report;
    auto facts = FactsToProto(CollectHostFacts(paths, &report));
    identity = EnrollAgent(config->collector, *ca_pem, *token, config->state_dir, facts,
                           absl::Seconds(30));
    if (!identity.ok()) {
      spdlog::error("{}", identity.status().message());
      return 1;
    }
    spdlog::info("enrolled as agent {}; identity stored in {}", identity->agent_id, config->state_dir);
  } else if (!identity.ok()) {
    spdlog::error("cannot load identity: {}", identity.status().message());
    return 1;
  } else if (!config->enroll_token.empty() || !config->enroll_token_file.empty()) {
    spdlog::info("already enrolled as agent {}; the enrollment token ({}) is used again only if its certificate "
                 "expires",
                 identity->agent_id, config->enroll_token_source);
  }

  // Artifacts for deployment jobs (and --fetch-artifact): verified
  // downloads on their own channel (a fixed window under --artifact-rate).
  FetchOptions fetch_options;
  fetch_options.dir = config->state_dir + "/artifacts";
  fetch_options.bytes_per_second = config->artifact_bytes_per_second;
  const int fetch_window = fetch_options.bytes_per_second > 0 ? kCappedWindowBytes : 0;
  ArtifactFetcher fetcher(
      v1::AgentService::NewStub(MakeCollectorChannel(config->collector, *ca_pem, &*identity, fetch_window)),
      *trusted, fetch_options);
  if (!config->fetch_artifact.empty()) {
    // One-shot: download and verify as a deployment would, print the path.
    auto fetched = fetcher.Fetch(config->fetch_artifact);
    if (!fetched.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(fetched.status().message()).c_str());
      return 1;
    }
    std::printf("%s\n", fetched->path.c_str());
    return 0;
  }

  steward::OutboxLogOptions outbox_options;
  outbox_options.max_bytes = config->outbox_max_bytes;
  auto outbox = Outbox::Open(config->state_dir + "/outbox", outbox_options);
  if (!outbox.ok()) {
    spdlog::error("cannot open the outbox: {}", outbox.status().message());
    return 1;
  }
  // Deployment jobs: verified artifacts, dpkg, one job at a time; results
  // go through the outbox like every report.
  DpkgBackend dpkg(config->dpkg_root);
  JobExecutorOptions job_options;
  job_options.state_dir = config->state_dir;
  job_options.agent_id = identity->agent_id;
  job_options.trusted_keys = *trusted;
  // Self-update (agent/jobs/self_update.h): this binary's path as started
  // (dpkg replaces the file, the path stays) and the command line to exec.
  std::string exe = argv[0];
  if (char buf[4096]; true) {
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf));
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  }
  SelfUpdate self_update(config->state_dir, exe, std::vector<std::string>(argv, argv + argc),
                         notifier.EnvironmentForExec(), config->self_update_deadline);
  job_options.self_update = &self_update;
  JobExecutor executor(&dpkg, [&](const std::string& sha) { return fetcher.Fetch(sha); }, job_options,
                       [] { return absl::ToUnixMillis(absl::Now()); });
  AptBackend apt(config->dpkg_root);
  executor.set_apt(&apt);
  // .rpm artifacts where rpm is installed (same --dpkg-root for tests).
  RpmBackend rpm(config->dpkg_root);
  if (!steward::FindTool("rpm").empty()) executor.set_rpm(&rpm);
  Outbox* outbox_ptr = outbox->get();
  JobRunner jobs(&executor, [outbox_ptr](const v1::JobResult& result) {
    v1::Envelope env;
    *env.mutable_job_result() = result;
    if (auto s = outbox_ptr->Push(env); !s.ok()) {
      spdlog::error("job {}: cannot queue its result: {}", result.job_id(), s.ToString());
    }
  }, [&fetcher] { fetcher.Cancel(); });
  AgentRunner runner(*config, *ca_pem, *identity, std::move(*outbox));
  runner.SetJobSink([&jobs](const v1::JobSpec& job) { jobs.Submit(job); });
  runner.SetCancelSink([&jobs](const v1::CancelJob& cancel) { jobs.Cancel(cancel); });
  // Downloads follow the agent's renewed (or re-enrolled) identity.
  runner.SetIdentityListener([&](const AgentIdentity& id) {
    fetcher.SetStub(v1::AgentService::NewStub(MakeCollectorChannel(config->collector, *ca_pem, &id, fetch_window)));
  });
  // The service manager (Type=notify, WatchdogSec): `systemctl status` shows
  // the session's state; the collection loop pets the watchdog, so a hung
  // agent is restarted.
  auto tell = [&notifier](absl::Status s) {
    if (!s.ok()) spdlog::warn("cannot tell the service manager: {}", s.message());
  };
  runner.SetStatusListener([&](const std::string& line) { tell(notifier.Status(line)); });
  // Reporting again after a self-update: the job finishes, the watchdog stops.
  runner.SetDeliveryListener([&self_update] { self_update.NoteDelivered(); });
  if (notifier.watchdog_interval() > absl::ZeroDuration()) {
    runner.SetWatchdog(notifier.watchdog_interval(), [&] { tell(notifier.Watchdog()); });
  }
  jobs.Start();
  std::thread signals([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    spdlog::info("received signal {}, stopping", sig);
    tell(notifier.Stopping());
    runner.Stop();
  });
  // Ready once the identity is loaded and the outbox open, without waiting
  // for the collector: reports queue up meanwhile, and a start job must not
  // hang (and fail) because the collector is unreachable at boot.
  tell(notifier.Ready());
  tell(notifier.Status(absl::StrCat("connecting to ", config->collector)));
  runner.Run();
  // Run returned because of Stop(); the signal thread has finished.
  signals.join();
  jobs.Stop();
  spdlog::info("stopped");
  return 0;
}
