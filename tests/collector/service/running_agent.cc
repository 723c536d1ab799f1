#include "tests/collector/service/running_agent.h"

#include <utility>

#include "agent/session/outbox.h"
#include "gtest/gtest.h"

namespace steward::testing {

agent::AgentConfig HermeticAgentConfig(const std::string& address, const std::string& dir, absl::Duration interval) {
  agent::AgentConfig config;
  config.collector = address;
  config.state_dir = dir;
  config.interval = interval;
  config.dpkg_status = dir + "/no-dpkg-status";
  config.os_release = dir + "/no-os-release";
  config.coredump_dir = dir + "/no-coredumps";
  config.services_enabled = false;
  return config;
}

RunningAgent::RunningAgent(agent::AgentConfig config, const std::string& ca_pem, const agent::AgentIdentity& id) {
  auto outbox = agent::Outbox::Open(config.state_dir + "/outbox", OutboxLogOptions());
  EXPECT_TRUE(outbox.ok()) << outbox.status();
  if (!outbox.ok()) return;
  runner_ = std::make_unique<agent::AgentRunner>(std::move(config), ca_pem, id, std::move(*outbox));
  thread_ = std::thread([this] { runner_->Run(); });
}

RunningAgent::~RunningAgent() {
  if (runner_) runner_->Stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace steward::testing
