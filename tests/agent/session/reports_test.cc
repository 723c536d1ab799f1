#include "agent/session/reports.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/inventory/inventory_diff.h"
#include "common/metrics/series_columns.h"
#include "gtest/gtest.h"

namespace steward::agent {
namespace {

TEST(BuildInventorySnapshot, CopiesPackagesFactsAndDigest) {
  std::vector<Package> packages = {
      {"dpkg", "zlib1g", "1:1.2.13.dfsg-1", "amd64", "Mark Brown <broonie@debian.org>", 168 * 1024,
       "install ok installed", 0, ""},
      {"dpkg", "base-files", "12.4+deb12u5", "amd64", "Santiago Vila", 0, "hold ok installed", 0, ""},
  };
  HostFacts facts;
  facts.hostname = "web-1";
  facts.os_id = "debian";
  facts.os_name = "Debian GNU/Linux 12 (bookworm)";
  facts.os_version = "12";
  facts.kernel = "6.1.0-18-amd64";
  facts.arch = "x86_64";
  facts.cpu_model = "Intel(R) Xeon(R)";
  facts.cpu_count = 8;
  facts.memory_total_bytes = 16ull << 30;
  facts.boot_time_unix = 1700000000;
  v1::InventorySnapshot snap = BuildInventorySnapshot(packages, facts, 3);

  ASSERT_EQ(snap.items_size(), 2);
  const auto& z = snap.items(0);
  EXPECT_EQ(z.source(), "dpkg");
  EXPECT_EQ(z.name(), "zlib1g");
  EXPECT_EQ(z.version(), "1:1.2.13.dfsg-1");
  EXPECT_EQ(z.arch(), "amd64");
  EXPECT_EQ(z.vendor(), "Mark Brown <broonie@debian.org>");
  EXPECT_EQ(z.size_bytes(), 168u * 1024u);
  EXPECT_EQ(z.status(), "install ok installed");
  EXPECT_EQ(snap.items(1).name(), "base-files");
  EXPECT_EQ(snap.items(1).size_bytes(), 0u);
  EXPECT_EQ(snap.skipped_records(), 3u);
  EXPECT_EQ(snap.digest(), steward::InventoryDigest(snap.items()));

  const auto& f = snap.facts();
  EXPECT_EQ(f.hostname(), "web-1");
  EXPECT_EQ(f.os_id(), "debian");
  EXPECT_EQ(f.os_name(), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(f.os_version(), "12");
  EXPECT_EQ(f.kernel(), "6.1.0-18-amd64");
  EXPECT_EQ(f.arch(), "x86_64");
  EXPECT_EQ(f.cpu_model(), "Intel(R) Xeon(R)");
  EXPECT_EQ(f.cpu_count(), 8u);
  EXPECT_EQ(f.memory_total_bytes(), 16ull << 30);
  EXPECT_EQ(f.boot_time_unix(), 1700000000);
}

TEST(FactsToProto, ClampsNegativeCpuCount) {
  HostFacts facts;
  facts.cpu_count = -1;
  EXPECT_EQ(FactsToProto(facts).cpu_count(), 0u);
}

TEST(BuildMetricBatch, OneSeriesWithOnePointPerSampleInColumns) {
  std::vector<MetricSample> samples = {
      {"host_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}, 1234.5, true},
      {"host_load1", {}, 0.25, false},
      {"host_filesystem_avail_bytes", {{"device", "/dev/sda1"}, {"mount", "/"}}, 1e12, false},
  };
  v1::MetricBatch batch = BuildMetricBatch(samples, 1700000000123);
  EXPECT_EQ(batch.series_size(), 0);  // the columns form only
  metrics::DecodedColumns cols;
  ASSERT_TRUE(metrics::DecodeSeriesColumns(batch.columns(), metrics::ColumnLimits(), &cols).ok());
  ASSERT_EQ(cols.series.size(), 3u);

  const auto& cpu = cols.series[0];
  EXPECT_EQ(cpu.metric, "host_cpu_seconds_total");
  EXPECT_TRUE(cpu.counter);
  ASSERT_EQ(cpu.label_count, 2u);
  EXPECT_EQ(cols.label(cpu, 0), (metrics::LabelView{"cpu", "0"}));
  EXPECT_EQ(cols.label(cpu, 1), (metrics::LabelView{"mode", "user"}));
  ASSERT_EQ(cpu.point_count, 1u);
  EXPECT_EQ(cols.times[cpu.point_begin], 1700000000123);
  EXPECT_EQ(batch.columns().values(static_cast<int>(cpu.point_begin)), 1234.5);

  const auto& load = cols.series[1];
  EXPECT_EQ(load.metric, "host_load1");
  EXPECT_FALSE(load.counter);
  EXPECT_EQ(load.label_count, 0u);
  ASSERT_EQ(load.point_count, 1u);
  EXPECT_EQ(cols.times[load.point_begin], 1700000000123);
  EXPECT_EQ(batch.columns().values(static_cast<int>(load.point_begin)), 0.25);

  const auto& fs = cols.series[2];
  EXPECT_EQ(cols.label(fs, 1), (metrics::LabelView{"mount", "/"}));
  EXPECT_EQ(batch.columns().values(static_cast<int>(fs.point_begin)), 1e12);

  EXPECT_EQ(BuildMetricBatch({}, 1).columns().series_size(), 0);
}

}  // namespace
}  // namespace steward::agent
