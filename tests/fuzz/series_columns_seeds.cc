// Writes a few SeriesColumns messages as seeds for series_columns_fuzz:
//   series_columns_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/series_columns.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: series_columns_seeds DIR\n");
    return 2;
  }
  auto write = [&](const std::string& name, const steward::v1::SeriesColumns& msg) {
    std::ofstream out(std::string(argv[1]) + "/" + name, std::ios::binary);
    out << msg.SerializeAsString();
  };
  using Labels = std::vector<std::pair<std::string, std::string>>;
  steward::v1::SeriesColumns agent;
  steward::metrics::SeriesColumnsBuilder b(&agent);
  b.AddSeries("host_load1", Labels{}, false);
  b.AddPoint(1763892000000, 0.25);
  b.AddSeries("host_net_bytes_total", Labels{{"dev", "eth0"}, {"dir", "rx"}}, true);
  b.AddPoint(1763892000000, 123456789);
  b.AddSeries("host_net_bytes_total", Labels{{"dev", "eth0"}, {"dir", "tx"}}, true);
  b.AddPoint(1763892000000, 987654);
  b.AddPoint(1763892010000, 987700);
  write("agent", agent);
  steward::v1::SeriesColumns empty_labels;
  steward::metrics::SeriesColumnsBuilder e(&empty_labels);
  e.AddSeries("m", Labels{{"a", ""}, {"b", "x"}}, false);
  e.AddPoint(-5, -0.0);
  write("empty_value", empty_labels);
  return 0;
}
