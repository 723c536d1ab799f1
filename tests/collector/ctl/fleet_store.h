#pragma once
// A store filled with hosts as Enroll and their agents' reports would leave
// them, for stewardctl tests against a real collector: labels from the
// enrollment token, an inventory snapshot, and optionally an upgrade (a
// change), check states and systemd units. Call before the collector opens
// the store.

#include <string>
#include <utility>
#include <vector>

#include "collector/storage/store.h"
#include "absl/time/clock.h"
#include "common/crypto.h"
#include "gtest/gtest.h"

namespace steward::ctl {

struct HostSpec {
  std::string id, hostname, os_id;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string source;
  std::vector<std::pair<std::string, std::string>> packages;  // name, version
  // A later snapshot with the first package at this version (a change).
  std::string upgrade_first_to;
  // Check name -> ok (true) or down (false).
  std::vector<std::pair<std::string, bool>> checks;
  // systemd units (name, active state).
  std::vector<std::pair<std::string, std::string>> units;
};

// Enrolls the hosts straight into the store (as Enroll and an inventory
// snapshot would leave them), before the collector opens it.
inline void Populate(const std::string& db_dir, const std::vector<HostSpec>& hosts) {
  auto store = collector::Store::Open(db_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (const HostSpec& h : hosts) {
    internal::AgentRecord a;
    a.set_agent_id(h.id);
    a.mutable_facts()->set_hostname(h.hostname);
    a.set_enrolled_ms(1'800'000'000'000);
    // A token valid for one use per host, carrying the host's labels.
    internal::TokenRecord t;
    for (const auto& [k, v] : h.labels) {
      v1::Label* l = t.add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    t.set_token_id("tok-" + h.id);
    t.set_secret_sha256(Sha256Hex("test"));
    t.set_expires_unix(4'000'000'000);
    t.set_max_uses(1);
    ASSERT_TRUE((*store)->PutToken(t).ok());
    ASSERT_TRUE((*store)->EnrollWithToken("tok-" + h.id, "test", 1'800'000'000, a).ok());
    v1::Envelope env;
    env.set_seq(1);
    auto* snap = env.mutable_inventory_snapshot();
    snap->mutable_facts()->set_hostname(h.hostname);
    snap->mutable_facts()->set_os_id(h.os_id);
    for (const auto& [name, version] : h.packages) {
      v1::SoftwareItem* item = snap->add_items();
      item->set_source(h.source);
      item->set_name(name);
      item->set_version(version);
      item->set_arch("amd64");
    }
    auto applied = (*store)->ApplyEnvelope(h.id, env, 1'800'000'000'000);
    ASSERT_TRUE(applied.ok()) << applied.status();
    uint64_t seq = 1;
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    if (!h.upgrade_first_to.empty()) {
      snap->mutable_items(0)->set_version(h.upgrade_first_to);
      env.set_seq(++seq);
      applied = (*store)->ApplyEnvelope(h.id, env, now_ms - 60'000);
      ASSERT_TRUE(applied.ok()) << applied.status();
    }
    if (!h.checks.empty()) {
      v1::Envelope health;
      health.set_seq(++seq);
      for (const auto& [name, ok] : h.checks) {
        v1::CheckState* c = health.mutable_health_report()->add_checks();
        c->set_name(name);
        c->set_type("tcp");
        c->set_status(ok ? v1::CheckState::OK : v1::CheckState::DOWN);
        c->set_reason(ok ? "" : "connection refused");
        c->set_time_ms(now_ms - 5'000);
        c->set_since_ms(now_ms - 60'000);
      }
      applied = (*store)->ApplyEnvelope(h.id, health, now_ms - 5'000);
      ASSERT_TRUE(applied.ok()) << applied.status();
    }
    if (!h.units.empty()) {
      v1::Envelope services;
      services.set_seq(++seq);
      services.mutable_service_report()->set_systemd_present(true);
      for (const auto& [name, active] : h.units) {
        v1::ServiceUnit* u = services.mutable_service_report()->add_units();
        u->set_name(name);
        u->set_load_state("loaded");
        u->set_active_state(active);
        u->set_sub_state(active == "active" ? "running" : "failed");
      }
      applied = (*store)->ApplyEnvelope(h.id, services, now_ms - 5'000);
      ASSERT_TRUE(applied.ok()) << applied.status();
    }
  }
}

}  // namespace steward::ctl
