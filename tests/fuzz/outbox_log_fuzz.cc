// Writes the input as a segment file (and, when it holds a 0xFF byte, the
// bytes after the first one as the state file) into a fresh directory and
// opens it as an outbox: no crash; every recovered record reads back with
// its index's size and kind; ids stay inside (acked_up_to, next_id); then
// an Append and its Read work.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/string_view.h"
#include "common/outbox/outbox_log.h"

namespace {

void WriteFile(const std::string& path, absl::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string root = [] {
    char tmpl[] = "/tmp/outbox-fuzz.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    return std::string(tmpl);
  }();
  std::string dir = root + "/outbox";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::string_view segment = input;
  size_t split = input.find('\xFF');
  if (split != absl::string_view::npos) {
    segment = input.substr(0, split);
    WriteFile(dir + "/state", input.substr(split + 1));
  }
  WriteFile(dir + "/seg-00000000000000000001.log", segment);

  steward::OutboxLogOptions options;
  options.sync = false;
  options.max_bytes = 1 << 20;
  options.segment_bytes = 4096;
  steward::OutboxOpenReport report;
  auto log = steward::OutboxLog::Open(dir, options, &report);
  if (!log.ok()) std::abort();  // nothing in a damaged file may stop the agent
  steward::OutboxLog& outbox = **log;

  uint64_t acked = outbox.acked_up_to();
  uint64_t next = outbox.next_id();
  if (next <= acked) std::abort();
  if (report.records_recovered != outbox.Pending().size()) std::abort();
  for (const steward::OutboxRecordMeta& m : outbox.Pending()) {
    if (m.id <= acked || m.id >= next) std::abort();
    auto payload = outbox.Read(m.id);
    if (!payload.ok() || payload->size() != m.size) std::abort();
  }
  auto id = outbox.Append(steward::OutboxRecordKind::kInventory, "after recovery");
  if (!id.ok() || *id != next) std::abort();
  auto back = outbox.Read(*id);
  if (!back.ok() || *back != "after recovery") std::abort();
  if (!outbox.AckUpTo(*id).ok() || outbox.NextAfter(0).has_value()) std::abort();
  return 0;
}
