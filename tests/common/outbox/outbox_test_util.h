#pragma once
// Helpers shared by the outbox tests: deterministic payloads, file listing
// and byte surgery on segment files.

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace steward::outbox_test {

// A payload that depends only on the id (1..700 bytes), so a reader can
// check it without knowing what the writer did.
inline std::string PayloadFor(uint64_t id) {
  size_t size = 1 + (id * 2654435761u) % 700;
  std::string out = absl::StrCat("id=", id, ";");
  while (out.size() < size) out.push_back(static_cast<char>('a' + (id + out.size()) % 26));
  out.resize(size);
  return out;
}

// Segment file names in `dir`, sorted.
inline std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (absl::StartsWith(name, "seg-")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

inline void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
  ASSERT_TRUE(f) << path << " offset " << offset;
}

inline void TruncateFile(const std::string& path, uint64_t size) {
  std::filesystem::resize_file(path, size);
}

}  // namespace steward::outbox_test
