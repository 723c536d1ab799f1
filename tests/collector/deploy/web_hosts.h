#pragma once
// The rollout tests' hosts: enrolled as Enroll leaves them, labelled
// role=web, hostname "web-<id>".

#include <string>

#include "absl/status/status.h"
#include "collector/storage/store.h"
#include "common/crypto.h"

namespace steward::collector::testing {

inline absl::Status EnrollWebHost(Store& store, const std::string& id) {
  internal::TokenRecord t;
  t.set_token_id("tok-" + id);
  t.set_secret_sha256(Sha256Hex("s"));
  t.set_expires_unix(4'000'000'000);
  t.set_max_uses(1);
  v1::Label* l = t.add_labels();
  l->set_name("role");
  l->set_value("web");
  if (absl::Status st = store.PutToken(t); !st.ok()) return st;
  internal::AgentRecord a;
  a.set_agent_id(id);
  a.mutable_facts()->set_hostname("web-" + id);
  return store.EnrollWithToken(t.token_id(), "s", 1'800'000'000, a);
}

}  // namespace steward::collector::testing
