#include "agent/services/service_inventory.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

using ::testing::HasSubstr;

// A fake systemctl: answers list-units and list-unit-files from strings the
// test changes, and counts the calls.
struct FakeSystemctl {
  std::string units = "nginx.service loaded active running Web server\n"
                      "getty@tty1.service loaded active running Getty on tty1\n";
  std::string unit_files = "nginx.service enabled enabled\ngetty@.service enabled enabled\n";
  absl::Status failure;
  int list_units_calls = 0;
  int unit_files_calls = 0;

  ServicesEnv Env() {
    return {[this](const std::vector<std::string>& args) -> absl::StatusOr<std::string> {
      if (!failure.ok()) return failure;
      if (args == kListUnitsArgs) {
        ++list_units_calls;
        return units;
      }
      if (args == kListUnitFilesArgs) {
        ++unit_files_calls;
        return unit_files;
      }
      return absl::InvalidArgumentError(absl::StrCat("unexpected systemctl ", absl::StrJoin(args, " ")));
    }};
  }
};

TEST(ServiceInventory, ReportsOnceThenOnlyChanges) {
  FakeSystemctl fake;
  ServiceInventory inv(fake.Env());
  auto first = inv.Collect(false, nullptr);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->systemd_present());
  ASSERT_EQ(first->units_size(), 2);
  EXPECT_EQ(first->units(0).name(), "getty@tty1.service");
  EXPECT_EQ(first->units(0).unit_file_state(), "enabled");  // from the template getty@.service
  EXPECT_EQ(first->units(1).name(), "nginx.service");
  EXPECT_EQ(first->units(1).description(), "Web server");
  EXPECT_EQ(first->digest().size(), 64u);
  inv.Commit();

  EXPECT_EQ(inv.Collect(false, nullptr), std::nullopt);
  // A forced report (new session) comes even though nothing changed.
  auto forced = inv.Collect(true, nullptr);
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ(forced->digest(), first->digest());
  inv.Commit();

  fake.units = "nginx.service loaded failed failed Web server\n"
               "getty@tty1.service loaded active running Getty on tty1\n";
  auto changed = inv.Collect(false, nullptr);
  ASSERT_TRUE(changed.has_value());
  EXPECT_NE(changed->digest(), first->digest());
  EXPECT_EQ(changed->units(1).active_state(), "failed");
  EXPECT_EQ(changed->units(1).sub_state(), "failed");
}

TEST(ServiceInventory, AnUncommittedReportIsReportedAgain) {
  FakeSystemctl fake;
  ServiceInventory inv(fake.Env());
  ASSERT_TRUE(inv.Collect(false, nullptr).has_value());
  // Not committed (the outbox refused it): the next collection retries.
  EXPECT_TRUE(inv.Collect(false, nullptr).has_value());
}

TEST(ServiceInventory, WithoutSystemdReportsOnceThatItIsAbsent) {
  FakeSystemctl fake;
  fake.failure = absl::FailedPreconditionError("systemd is not running");
  ServiceInventory inv(fake.Env());
  auto r = inv.Collect(false, nullptr);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->systemd_present());
  EXPECT_EQ(r->units_size(), 0);
  inv.Commit();
  EXPECT_EQ(inv.Collect(false, nullptr), std::nullopt);
}

TEST(ServiceInventory, AFailingSystemctlKeepsThePreviousReport) {
  FakeSystemctl fake;
  ServiceInventory inv(fake.Env());
  ASSERT_TRUE(inv.Collect(false, nullptr).has_value());
  inv.Commit();
  fake.failure = absl::DeadlineExceededError("systemctl ran longer than 5s, killed");
  EXPECT_EQ(inv.Collect(true, nullptr), std::nullopt);
  fake.failure = absl::OkStatus();
  // The forced report systemctl could not produce comes at the next success.
  auto owed = inv.Collect(false, nullptr);
  ASSERT_TRUE(owed.has_value());
  inv.Commit();
  EXPECT_EQ(inv.Collect(false, nullptr), std::nullopt);  // same units as before
}

TEST(ServiceInventory, ReadsUnitFilesOnlyWhenUnitsChangeOrPeriodically) {
  FakeSystemctl fake;
  ServiceInventory inv(fake.Env());
  inv.Collect(false, nullptr);
  inv.Commit();
  EXPECT_EQ(fake.unit_files_calls, 1);
  for (int i = 0; i < 5; ++i) inv.Collect(false, nullptr);
  EXPECT_EQ(fake.unit_files_calls, 1);
  fake.units += "cron.service loaded active running Cron\n";
  fake.unit_files += "cron.service disabled enabled\n";
  auto r = inv.Collect(false, nullptr);
  EXPECT_EQ(fake.unit_files_calls, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->units(0).name(), "cron.service");
  EXPECT_EQ(r->units(0).unit_file_state(), "disabled");
  inv.Commit();
  // Enabling changes nothing list-units shows: seen at the periodic re-read.
  fake.unit_files = "cron.service enabled enabled\n";
  std::optional<v1::ServiceReport> seen;
  for (uint64_t i = 0; i < ServiceInventory::kUnitFilesEvery && !seen; ++i) seen = inv.Collect(false, nullptr);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->units(0).unit_file_state(), "enabled");
}

TEST(ServiceInventory, CountsSkippedLinesAndPassesWarningsOn) {
  FakeSystemctl fake;
  fake.units = "ok.service loaded active running Ok\ngarbage\n";
  ServiceInventory inv(fake.Env());
  ParseReport report;
  auto r = inv.Collect(false, &report);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->units_size(), 1);
  EXPECT_EQ(r->skipped_lines(), 1u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("systemctl list-units line 2"));
}

TEST(ServiceDigest, CoversEveryField) {
  SystemdUnit u{"a.service", "loaded", "active", "running", "A", "enabled"};
  std::string base = ServiceDigest({u}, true);
  EXPECT_EQ(ServiceDigest({u}, true), base);
  EXPECT_NE(ServiceDigest({u}, false), base);
  for (std::string SystemdUnit::*field : {&SystemdUnit::name, &SystemdUnit::load_state, &SystemdUnit::active_state,
                                          &SystemdUnit::sub_state, &SystemdUnit::description,
                                          &SystemdUnit::unit_file_state}) {
    SystemdUnit changed = u;
    changed.*field += "x";
    EXPECT_NE(ServiceDigest({changed}, true), base);
  }
}

}  // namespace
}  // namespace steward::agent
