#include "tests/agent/jobs/signed_job.h"

#include <cstdlib>

namespace steward::agent::testing {

const Ed25519PrivateKey& TestOperatorKey() {
  static const Ed25519PrivateKey* key = new Ed25519PrivateKey(Ed25519PrivateKey::Generate());
  return *key;
}

v1::JobSpec Signed(v1::JobSpec spec, int64_t at_ms, const std::string& agent,
                   const Ed25519PrivateKey& key) {
  spec.clear_authorization();
  absl::StatusOr<JobStatement> s = StatementForAction(spec);
  if (!s.ok()) return spec;  // no action: nothing to sign (the executor refuses it)
  s->agents = {agent};
  s->issued_ms = at_ms - 3600 * 1000;
  s->expires_ms = at_ms + 24 * 3600 * 1000;
  s->may_roll_back = spec.rollback_on_failure();
  s->attempts = 1;
  *spec.mutable_authorization() = SignJobStatement(*s, key);
  return spec;
}

JobStatement StatementOf(const v1::JobSpec& spec) {
  absl::StatusOr<JobStatement> s = ParseJobStatement(spec.authorization().statement());
  if (!s.ok()) std::abort();
  return *s;
}

}  // namespace steward::agent::testing
