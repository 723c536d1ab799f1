// The writer process of tsdb_crash_test.cc: opens the store in DIR; each of
// its kThreads threads t appends its batches from FIRST_t on and writes
// "acked T N" (N of its batches acknowledged in all) to FD after each
// Append returns, until the test kills it.
//
//   tsdb_crash_writer DIR FIRST_0 FIRST_1 FD

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/collector/tsdb/tsdb_crash_writer.h"

using namespace steward::collector::tsdb;  // NOLINT: a small program

int main(int argc, char** argv) {
  static_assert(crash_test::kThreads == 2);
  if (argc != 5) return 2;
  const std::vector<int> first = {std::atoi(argv[2]), std::atoi(argv[3])};
  const int out_fd = std::atoi(argv[4]);
  auto store = TsdbStore::Open(argv[1], crash_test::CrashOptions());
  if (!store.ok()) return 3;
  std::vector<std::thread> threads;
  for (int t = 0; t < crash_test::kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = first[static_cast<size_t>(t)];; ++b) {
        if (!(*store)->Append(crash_test::BatchOf(t, b)).ok()) _exit(4);
        const std::string line = "acked " + std::to_string(t) + " " + std::to_string(b + 1) + "\n";
        if (write(out_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  return 6;
}
