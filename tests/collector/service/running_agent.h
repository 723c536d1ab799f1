#pragma once
// A real AgentRunner (the agent's whole session and collection loop) on a
// thread of its own, for tests of the collector with a real agent; stopped
// and joined on destruction.

#include <memory>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "agent/session/agent_config.h"
#include "agent/session/agent_runner.h"
#include "agent/session/identity.h"

namespace steward::testing {

// A hermetic agent config: collector `address`, state in `dir`, collection
// every `interval`, no host package database, os-release, core dumps or
// systemd units read. Tests add checks and trusted keys.
agent::AgentConfig HermeticAgentConfig(const std::string& address, const std::string& dir, absl::Duration interval);

class RunningAgent {
 public:
  RunningAgent(agent::AgentConfig config, const std::string& ca_pem, const agent::AgentIdentity& id);
  ~RunningAgent();

 private:
  std::unique_ptr<agent::AgentRunner> runner_;
  std::thread thread_;
};

}  // namespace steward::testing
