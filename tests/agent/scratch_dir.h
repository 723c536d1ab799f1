#pragma once
// Test helpers for the agent parser tests: a temporary directory that is
// removed afterwards, and running a shell command to use as an oracle.

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace steward::agent::testing {

// A fresh directory under $TMPDIR (or /tmp), deleted with its contents on
// destruction. Not thread-safe; one per test.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/steward-agent-test.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    }
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "cannot remove " << path_;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `content` to path()/rel, creating parent directories; returns
  // the full path.
  std::string Write(absl::string_view rel, absl::string_view content) {
    std::string full = path_ + "/" + std::string(rel);
    for (size_t slash = full.find('/', path_.size() + 1); slash != std::string::npos;
         slash = full.find('/', slash + 1)) {
      ::mkdir(full.substr(0, slash).c_str(), 0755);
    }
    std::ofstream out(full, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) ADD_FAILURE() << "cannot write " << full;
    return full;
  }

 private:
  std::string path_;
};

// Runs `cmd` with /bin/sh and returns its stdout; *ok is false when the
// command could not be run or exited non-zero.
inline std::string RunCommand(const std::string& cmd, bool* ok) {
  *ok = false;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *ok = ::pclose(p) == 0;
  return out;
}

}  // namespace steward::agent::testing
