#pragma once
// A fresh temporary directory for one test, removed with its contents on
// destruction. Not thread-safe; one per test.

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include "gtest/gtest.h"

namespace steward::testing {

class TempDir {
 public:
  // Creates $TMPDIR/<prefix>.XXXXXX (or under /tmp when TMPDIR is unset or
  // empty). On failure path() is empty and the test is marked failed.
  explicit TempDir(std::string_view prefix = "steward-test") {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" +
                       std::string(prefix) + ".XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
      return;
    }
    path_ = tmpl;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) ADD_FAILURE() << "cannot remove " << path_ << ": " << ec.message();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `content` to path()/rel, creating parent directories; returns
  // the full path.
  std::string Write(std::string_view rel, std::string_view content) const {
    std::string full = path_ + "/" + std::string(rel);
    if (path_.empty()) {
      ADD_FAILURE() << "no temporary directory to write " << rel << " into";
      return full;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(full).parent_path(), ec);
    if (ec) ADD_FAILURE() << "cannot create the parents of " << full << ": " << ec.message();
    std::ofstream out(full, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) ADD_FAILURE() << "cannot write " << full;
    return full;
  }

 private:
  std::string path_;
};

}  // namespace steward::testing
