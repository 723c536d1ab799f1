#include "collector/service/envelope_validation.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace steward::collector {
namespace {

v1::Envelope MetricEnvelope() {
  v1::Envelope env;
  env.set_seq(1);
  env.mutable_metric_batch();
  return env;
}

v1::Series* AddSeries(v1::Envelope* env, const std::string& name) {
  v1::Series* s = env->mutable_metric_batch()->add_series();
  s->set_name(name);
  auto* p = s->add_points();
  p->set_time_ms(1);
  p->set_value(1);
  return s;
}

void AddLabel(v1::Series* s, const std::string& name, const std::string& value) {
  auto* l = s->add_labels();
  l->set_name(name);
  l->set_value(value);
}

v1::Envelope InventoryEnvelope() {
  v1::Envelope env;
  env.set_seq(7);
  env.mutable_inventory_snapshot();
  return env;
}

v1::SoftwareItem* AddItem(v1::Envelope* env, const std::string& name) {
  auto* i = env->mutable_inventory_snapshot()->add_items();
  i->set_source("dpkg");
  i->set_name(name);
  i->set_arch("amd64");
  i->set_version("1.0");
  return i;
}

// Expects INVALID_ARGUMENT with every one of `parts` in the message.
void ExpectInvalid(const v1::Envelope& env, std::initializer_list<std::string> parts) {
  absl::Status s = ValidateEnvelope(env);
  ASSERT_FALSE(s.ok()) << env.ShortDebugString();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  for (const auto& part : parts) {
    EXPECT_TRUE(absl::StrContains(s.message(), part)) << "'" << part << "' not in: " << s.message();
  }
}

TEST(ValidateEnvelope, AcceptsWellFormedEnvelopes) {
  v1::Envelope m = MetricEnvelope();
  auto* s = AddSeries(&m, "host_cpu_seconds_total");
  AddLabel(s, "cpu", "0");
  AddLabel(s, "mode", "user with spaces, \xC3\xA9 and = signs");
  AddSeries(&m, "ns:metric_name:rate5m");
  AddSeries(&m, "_x9");
  EXPECT_TRUE(ValidateEnvelope(m).ok()) << ValidateEnvelope(m);
  EXPECT_TRUE(ValidateEnvelope(MetricEnvelope()).ok());  // empty batch

  v1::Envelope inv = InventoryEnvelope();
  AddItem(&inv, "openssl");
  AddItem(&inv, "libc6")->set_arch("");  // arch may be empty (old dpkg records)
  EXPECT_TRUE(ValidateEnvelope(inv).ok()) << ValidateEnvelope(inv);
  EXPECT_TRUE(ValidateEnvelope(InventoryEnvelope()).ok());  // empty inventory

  v1::Envelope hb;
  hb.set_seq(3);
  hb.mutable_heartbeat();
  EXPECT_TRUE(ValidateEnvelope(hb).ok());
}

TEST(ValidateEnvelope, RejectsSeqZero) {
  v1::Envelope env = MetricEnvelope();
  env.set_seq(0);
  ExpectInvalid(env, {"seq must be >= 1"});
}

TEST(ValidateEnvelope, RejectsMissingPayload) {
  v1::Envelope env;
  env.set_seq(1);
  ExpectInvalid(env, {"no payload"});
}

TEST(ValidateEnvelope, RejectsBadMetricNamesNamingSeriesAndName) {
  for (const std::string& name :
       {std::string("1bad"), std::string(""), std::string("has-dash"), std::string("has space"),
        std::string("dot.name"), std::string("\xC3\xA9t\xC3\xA9"), std::string("a\0b", 3),
        std::string(257, 'a')}) {
    v1::Envelope env = MetricEnvelope();
    AddSeries(&env, "good_one");
    AddSeries(&env, name);
    ExpectInvalid(env, {"series 1", "metric name must match"});
    if (name.size() <= 64) {
      ExpectInvalid(env, {"'" + name + "'"});
    }
  }
  v1::Envelope env = MetricEnvelope();
  AddSeries(&env, "1bad");
  ExpectInvalid(env, {"series 0", "('1bad')", "[a-zA-Z_:][a-zA-Z0-9_:]*"});
}

TEST(ValidateEnvelope, MetricNameLengthLimitIsInclusive) {
  v1::Envelope ok = MetricEnvelope();
  AddSeries(&ok, std::string(kMaxNameBytes, 'm'));
  EXPECT_TRUE(ValidateEnvelope(ok).ok());
  v1::Envelope bad = MetricEnvelope();
  AddSeries(&bad, std::string(kMaxNameBytes + 1, 'm'));
  // The quoted name is cut to 64 bytes.
  ExpectInvalid(bad, {"('" + std::string(64, 'm') + "')"});
  EXPECT_FALSE(absl::StrContains(ValidateEnvelope(bad).message(), std::string(65, 'm')));
}

TEST(ValidateEnvelope, RejectsTooManyLabels) {
  v1::Envelope ok = MetricEnvelope();
  auto* s = AddSeries(&ok, "m");
  for (int i = 0; i < kMaxLabelsPerSeries; ++i) AddLabel(s, absl::StrCat("l", 10 + i), "v");
  EXPECT_TRUE(ValidateEnvelope(ok).ok()) << ValidateEnvelope(ok);
  AddLabel(s, "zz", "v");
  ExpectInvalid(ok, {"series 0 ('m')", "more than 32 labels"});
}

TEST(ValidateEnvelope, RejectsBadLabelNamesNamingThem) {
  for (const std::string& name : {std::string("9lives"), std::string(""), std::string("a:b"),
                                  std::string("a-b"), std::string("a=b")}) {
    v1::Envelope env = MetricEnvelope();
    auto* s = AddSeries(&env, "host_load1");
    AddLabel(s, name, "v");
    ExpectInvalid(env, {"series 0 ('host_load1')", "label name '" + name + "' is invalid"});
  }
  // `__` names are the query language's (`__name__` is the metric name).
  v1::Envelope env = MetricEnvelope();
  AddLabel(AddSeries(&env, "host_load1"), "__name__", "other");
  ExpectInvalid(env, {"series 0 ('host_load1')", "label name '__name__' is reserved"});
}

TEST(ValidateEnvelope, RejectsBadLabelValuesNamingTheLabel) {
  for (const std::string& value : {std::string("a\0b", 3),
                                   std::string("a\x1f"
                                               "b"),
                                   std::string(kMaxValueBytes + 1, 'v')}) {
    v1::Envelope env = MetricEnvelope();
    auto* s = AddSeries(&env, "host_load1");
    AddLabel(s, "mount", value);
    ExpectInvalid(env, {"series 0 ('host_load1')", "label 'mount' value"});
  }
  v1::Envelope ok = MetricEnvelope();
  AddLabel(AddSeries(&ok, "m"), "k", std::string(kMaxValueBytes, 'v'));
  AddLabel(ok.mutable_metric_batch()->mutable_series(0), "l", "");
  EXPECT_TRUE(ValidateEnvelope(ok).ok()) << ValidateEnvelope(ok);
}

TEST(ValidateEnvelope, RejectsUnsortedOrDuplicateLabels) {
  v1::Envelope unsorted = MetricEnvelope();
  auto* s = AddSeries(&unsorted, "m");
  AddLabel(s, "mode", "user");
  AddLabel(s, "cpu", "0");
  ExpectInvalid(unsorted, {"series 0 ('m')", "sorted by name and unique"});

  v1::Envelope dup = MetricEnvelope();
  s = AddSeries(&dup, "m");
  AddLabel(s, "cpu", "0");
  AddLabel(s, "cpu", "1");
  ExpectInvalid(dup, {"sorted by name and unique"});
}

TEST(ValidateEnvelope, RejectsTooManySeries) {
  v1::Envelope env = MetricEnvelope();
  for (int i = 0; i < kMaxSeriesPerBatch; ++i)
    env.mutable_metric_batch()->add_series()->set_name("m");
  EXPECT_TRUE(ValidateEnvelope(env).ok());
  env.mutable_metric_batch()->add_series()->set_name("m");
  ExpectInvalid(env, {"20001 series", "limit is 20000"});
}

TEST(ValidateEnvelope, RejectsTooManyPointsAcrossSeries) {
  v1::Envelope env = MetricEnvelope();
  auto* a = env.mutable_metric_batch()->add_series();
  a->set_name("a");
  auto* b = env.mutable_metric_batch()->add_series();
  b->set_name("b");
  for (int i = 0; i < kMaxPointsPerBatch / 2; ++i) a->add_points()->set_time_ms(i);
  for (int i = 0; i < kMaxPointsPerBatch / 2; ++i) b->add_points()->set_time_ms(i);
  EXPECT_TRUE(ValidateEnvelope(env).ok());
  b->add_points();
  ExpectInvalid(env, {"200001 points", "limit is 200000"});
}

TEST(ValidateEnvelope, RejectsInventoryItemsNamingThem) {
  struct Case {
    std::string what;
    void (*mutate)(v1::SoftwareItem*);
  };
  const Case cases[] = {
      {"empty source", [](v1::SoftwareItem* i) { i->set_source(""); }},
      {"empty name", [](v1::SoftwareItem* i) { i->set_name(""); }},
      {"NUL in name", [](v1::SoftwareItem* i) { i->set_name(std::string("bad\0pkg", 7)); }},
      {"0x1f in source", [](v1::SoftwareItem* i) { i->set_source("dp\x1fkg"); }},
      {"NUL in arch", [](v1::SoftwareItem* i) { i->set_arch(std::string("amd\0", 4)); }},
      {"long name", [](v1::SoftwareItem* i) { i->set_name(std::string(kMaxNameBytes + 1, 'n')); }},
      {"long source",
       [](v1::SoftwareItem* i) { i->set_source(std::string(kMaxNameBytes + 1, 's')); }},
      {"long arch", [](v1::SoftwareItem* i) { i->set_arch(std::string(kMaxNameBytes + 1, 'a')); }},
      {"long version",
       [](v1::SoftwareItem* i) { i->set_version(std::string(kMaxValueBytes + 1, '1')); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    v1::Envelope env = InventoryEnvelope();
    AddItem(&env, "fine");
    AddItem(&env, "fine2");
    c.mutate(AddItem(&env, "victim"));
    ExpectInvalid(env, {"inventory item 2"});
    std::string name = env.inventory_snapshot().items(2).name();
    if (!name.empty() && name.size() <= 64) ExpectInvalid(env, {"('" + name + "')"});
  }
  v1::Envelope ok = InventoryEnvelope();
  auto* i = AddItem(&ok, std::string(kMaxNameBytes, 'n'));
  i->set_version(std::string(kMaxValueBytes, '1'));
  i->set_arch(std::string(kMaxNameBytes, 'a'));
  EXPECT_TRUE(ValidateEnvelope(ok).ok()) << ValidateEnvelope(ok);
}

TEST(ValidateEnvelope, RejectsTooManyInventoryItems) {
  v1::Envelope env = InventoryEnvelope();
  auto* items = env.mutable_inventory_snapshot()->mutable_items();
  items->Reserve(kMaxInventoryItems + 1);
  for (int i = 0; i < kMaxInventoryItems; ++i) {
    auto* it = items->Add();
    it->set_source("d");
    it->set_name("n");
  }
  EXPECT_TRUE(ValidateEnvelope(env).ok());
  items->Add();
  ExpectInvalid(env, {"200001 items", "limit is 200000"});
}

// --- service reports ---

v1::Envelope ServiceEnvelope(std::initializer_list<std::string> names) {
  v1::Envelope env;
  env.set_seq(3);
  auto* r = env.mutable_service_report();
  r->set_systemd_present(true);
  for (const auto& n : names) {
    auto* u = r->add_units();
    u->set_name(n);
    u->set_load_state("loaded");
    u->set_active_state("active");
    u->set_sub_state("running");
  }
  return env;
}

TEST(ValidateServiceReport, AcceptsARealisticReport) {
  v1::Envelope env = ServiceEnvelope({"-.mount", "nginx.service", "systemd-fsck@dev-disk-by\\x2duuid.service"});
  env.mutable_service_report()->mutable_units(1)->set_description("A high performance web server");
  EXPECT_TRUE(ValidateEnvelope(env).ok()) << ValidateEnvelope(env);
  v1::Envelope absent;
  absent.set_seq(1);
  absent.mutable_service_report()->set_systemd_present(false);
  EXPECT_TRUE(ValidateEnvelope(absent).ok());
}

TEST(ValidateServiceReport, RefusesBadUnitsNamingThem) {
  ExpectInvalid(ServiceEnvelope({"a.service", ""}), {"service report unit 1", "name must be non-empty"});
  ExpectInvalid(ServiceEnvelope({std::string("nul\0.service", 12)}), {"unit 0", "NUL/0x1f"});
  ExpectInvalid(ServiceEnvelope({std::string(300, 'n')}), {"at most 256 bytes"});
  ExpectInvalid(ServiceEnvelope({"b.service", "a.service"}), {"unit 1 ('a.service')", "sorted by name and unique"});
  ExpectInvalid(ServiceEnvelope({"a.service", "a.service"}), {"sorted by name and unique"});

  v1::Envelope state = ServiceEnvelope({"a.service"});
  state.mutable_service_report()->mutable_units(0)->set_sub_state(std::string(65, 's'));
  ExpectInvalid(state, {"unit 0 ('a.service')", "states", "at most 64 bytes"});

  v1::Envelope desc = ServiceEnvelope({"a.service"});
  desc.mutable_service_report()->mutable_units(0)->set_description(std::string(kMaxValueBytes + 1, 'd'));
  ExpectInvalid(desc, {"description is longer than 4096 bytes"});

  v1::Envelope contradiction = ServiceEnvelope({"a.service"});
  contradiction.mutable_service_report()->set_systemd_present(false);
  ExpectInvalid(contradiction, {"lists units but says systemd is not running"});
}

TEST(ValidateServiceReport, RefusesTooManyUnits) {
  v1::Envelope env = ServiceEnvelope({});
  for (int i = 0; i <= kMaxServiceUnits; ++i) {
    env.mutable_service_report()->add_units()->set_name(absl::StrCat("u", 100000 + i, ".service"));
  }
  ExpectInvalid(env, {"service report has 20001 units; the limit is 20000"});
}

}  // namespace
}  // namespace steward::collector
