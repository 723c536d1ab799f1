#pragma once
// Jobs as an operator signs them (common/jobs/job_statement.h), for tests
// of the agent's executor: one operator key, one agent id, one clock.

#include <cstdint>
#include <string>

#include "common/jobs/job_statement.h"
#include "common/signing/ed25519.h"
#include "steward/v1/types.pb.h"

namespace steward::agent::testing {

inline constexpr char kTestAgentId[] = "agent-under-test";
inline constexpr int64_t kTestNowMs = 1'800'000'000'000;

// The operator's publisher key the executors under test trust (made once).
const Ed25519PrivateKey& TestOperatorKey();

// `spec` with a fresh statement signed by `key` for `agent`: its own action
// and parameters, valid from an hour before `at_ms` to a day after, for one
// job, allowing rollbacks when the spec asks for rollback_on_failure.
v1::JobSpec Signed(v1::JobSpec spec, int64_t at_ms = kTestNowMs,
                   const std::string& agent = kTestAgentId,
                   const Ed25519PrivateKey& key = TestOperatorKey());

// The statement in `spec`'s authorization, parsed (for tests that edit it).
JobStatement StatementOf(const v1::JobSpec& spec);

}  // namespace steward::agent::testing
