#include "agent/session/inventory_reporter.h"

#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/inventory/inventory_diff.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace steward::agent {
namespace {

v1::SoftwareItem Item(const std::string& name, const std::string& version) {
  v1::SoftwareItem i;
  i.set_source("dpkg");
  i.set_name(name);
  i.set_version(version);
  i.set_arch("amd64");
  return i;
}

v1::HostFacts Facts(const std::string& kernel) {
  v1::HostFacts f;
  f.set_hostname("web-1");
  f.set_kernel(kernel);
  return f;
}

class InventoryReporterTest : public ::testing::Test {
 protected:
  std::string base_path() const { return dir_.path() + "/inventory.base"; }
  testing::TempDir dir_;
};

TEST_F(InventoryReporterTest, SnapshotFirstThenDeltasThenNothing) {
  InventoryReporter r(base_path());
  r.Load();
  auto first = r.Report({Item("bash", "5.1"), Item("curl", "7.88")}, Facts("6.1"), false, 0);
  ASSERT_TRUE(first && first->has_inventory_snapshot());
  EXPECT_EQ(first->inventory_snapshot().items_size(), 2);
  ASSERT_TRUE(r.Commit().ok());

  EXPECT_FALSE(r.Report({Item("curl", "7.88"), Item("bash", "5.1")}, Facts("6.1"), false, 0).has_value())
      << "same set in another order: nothing to send";

  auto delta = r.Report({Item("bash", "5.2"), Item("jq", "1.6")}, Facts("6.1"), false, 0);
  ASSERT_TRUE(delta && delta->has_inventory_delta());
  const auto& d = delta->inventory_delta();
  EXPECT_EQ(d.base_digest(), InventoryDigest(std::vector<v1::SoftwareItem>{Item("bash", "5.1"), Item("curl", "7.88")}));
  EXPECT_EQ(d.digest(), InventoryDigest(std::vector<v1::SoftwareItem>{Item("bash", "5.2"), Item("jq", "1.6")}));
  ASSERT_EQ(d.added_size(), 1);
  EXPECT_EQ(d.added(0).name(), "jq");
  ASSERT_EQ(d.removed_size(), 1);
  EXPECT_EQ(d.removed(0).name(), "curl");
  ASSERT_EQ(d.changed_size(), 1);
  EXPECT_EQ(d.changed(0).version(), "5.2");
  EXPECT_FALSE(d.has_facts());
}

TEST_F(InventoryReporterTest, UncommittedReportIsReportedAgain) {
  InventoryReporter r(base_path());
  ASSERT_TRUE(r.Report({Item("bash", "5.1")}, Facts("6.1"), false, 0).has_value());
  ASSERT_TRUE(r.Commit().ok());
  ASSERT_TRUE(r.Report({Item("bash", "5.2")}, Facts("6.1"), false, 0).has_value());
  // Not committed (the outbox refused it): the next scan reports it again.
  auto again = r.Report({Item("bash", "5.2")}, Facts("6.1"), false, 0);
  ASSERT_TRUE(again && again->has_inventory_delta());
  EXPECT_EQ(again->inventory_delta().changed_size(), 1);
}

TEST_F(InventoryReporterTest, BaseSurvivesRestartAndACorruptBaseMeansSnapshot) {
  {
    InventoryReporter r(base_path());
    r.Load();
    ASSERT_TRUE(r.Report({Item("bash", "5.1")}, Facts("6.1"), false, 0).has_value());
    ASSERT_TRUE(r.Commit().ok());
  }
  {
    InventoryReporter r(base_path());
    r.Load();
    EXPECT_FALSE(r.Report({Item("bash", "5.1")}, Facts("6.1"), false, 0).has_value());
    auto delta = r.Report({Item("bash", "5.2")}, Facts("6.1"), false, 0);
    ASSERT_TRUE(delta && delta->has_inventory_delta());
  }
  ASSERT_TRUE(WriteFileAtomic(base_path(), "not a protobuf \xff\xff", 0600).ok());
  InventoryReporter r(base_path());
  r.Load();
  auto env = r.Report({Item("bash", "5.1")}, Facts("6.1"), false, 0);
  ASSERT_TRUE(env && env->has_inventory_snapshot());
}

TEST_F(InventoryReporterTest, ForcedReportIsASnapshot) {
  InventoryReporter r(base_path());
  ASSERT_TRUE(r.Report({Item("bash", "5.1")}, Facts("6.1"), false, 0).has_value());
  ASSERT_TRUE(r.Commit().ok());
  auto env = r.Report({Item("bash", "5.1")}, Facts("6.1"), true, 3);
  ASSERT_TRUE(env && env->has_inventory_snapshot());
  EXPECT_EQ(env->inventory_snapshot().skipped_records(), 3u);
}

TEST_F(InventoryReporterTest, FactsOnlyChangeIsAFactsDelta) {
  InventoryReporter r(base_path());
  EXPECT_FALSE(r.ReportFacts(Facts("6.1")).has_value()) << "no base yet";
  ASSERT_TRUE(r.Report({Item("bash", "5.1")}, Facts("6.1"), false, 0).has_value());
  ASSERT_TRUE(r.Commit().ok());
  EXPECT_FALSE(r.ReportFacts(Facts("6.1")).has_value());
  auto env = r.ReportFacts(Facts("6.5"));
  ASSERT_TRUE(env && env->has_inventory_delta());
  EXPECT_EQ(env->inventory_delta().facts().kernel(), "6.5");
  EXPECT_EQ(env->inventory_delta().base_digest(), env->inventory_delta().digest());
  EXPECT_EQ(env->inventory_delta().added_size() + env->inventory_delta().removed_size(), 0);
  ASSERT_TRUE(r.Commit().ok());
  EXPECT_FALSE(r.ReportFacts(Facts("6.5")).has_value());
  // A full report with the new facts and the same items is nothing new.
  EXPECT_FALSE(r.Report({Item("bash", "5.1")}, Facts("6.5"), false, 0).has_value());
}

}  // namespace
}  // namespace steward::agent
