#pragma once
// What stewardctl's tests share: running a command line in-process with its
// exit code and both streams, and a real collector on a free loopback port.

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/ctl/commands.h"
#include "collector/service/collector_server.h"
#include "common/file_util.h"
#include "tests/testing/subprocess.h"

namespace steward::ctl {

struct CtlResult {
  int code;
  std::string out, err;
};

// `stewardctl ARGS` with `conf` as $STEWARD_CONFIG ("" for none).
inline CtlResult Ctl(const std::vector<std::string>& args, const std::string& conf = "") {
  std::ostringstream out, err;
  int code = RunStewardctl(args, conf, out, err);
  return {code, out.str(), err.str()};
}

// A collector serving `data_dir` on 127.0.0.1 (a free port), and the
// admin.conf it wrote.
struct LiveCollector {
  std::unique_ptr<collector::CollectorServer> server;
  std::string conf;
};

inline absl::StatusOr<LiveCollector> StartCollector(const std::string& data_dir) {
  collector::CollectorOptions opts;
  opts.data_dir = data_dir;
  opts.listen = "127.0.0.1:0";
  opts.http_listen = "127.0.0.1:0";  // the install endpoints (packages: DATA_DIR/agent-packages)
  opts.worker_threads = 1;
  absl::StatusOr<std::unique_ptr<collector::CollectorServer>> server =
      collector::CollectorServer::Start(opts);
  if (!server.ok()) return server.status();
  return LiveCollector{std::move(*server), data_dir + "/admin.conf"};
}

// Every value of `"key": "..."` in a JSON text, in order.
inline std::vector<std::string> JsonStrings(const std::string& json, const std::string& key) {
  std::vector<std::string> values;
  const std::string needle = "\"" + key + "\": \"";
  for (size_t at = json.find(needle); at != std::string::npos; at = json.find(needle, at + 1)) {
    const size_t begin = at + needle.size();
    values.push_back(json.substr(begin, json.find('"', begin) - begin));
  }
  return values;
}

// Builds PACKAGE VERSION for ARCH with dpkg-deb into `dir` (work files
// under `work`): a stand-in for the agent package where only its control
// fields matter. Its path, or the error.
inline absl::StatusOr<std::string> BuildStandInDeb(const std::string& work, const std::string& dir,
                                                   const std::string& package, const std::string& version,
                                                   const std::string& arch) {
  const std::string root = work + "/" + package + "-" + version + "-" + arch;
  if (absl::Status s = MakeDirs(root + "/DEBIAN", 0755); !s.ok()) return s;
  if (absl::Status s = MakeDirs(root + "/usr/share/doc/" + package, 0755); !s.ok()) return s;
  if (absl::Status s = WriteFileAtomic(root + "/DEBIAN/control",
                                       "Package: " + package + "\nVersion: " + version + "\nArchitecture: " + arch +
                                           "\nMaintainer: Ops <ops@example.net>\nDescription: stand-in\n");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFileAtomic(root + "/usr/share/doc/" + package + "/VERSION", version + "\n"); !s.ok()) {
    return s;
  }
  const std::string deb = dir + "/" + package + "_" + version + "_" + arch + ".deb";
  auto built = testing::RunProcess({"dpkg-deb", "--root-owner-group", "--build", root, deb},
                                   testing::StderrMode::kMerge);
  if (!built.has_value() || built->exit_code != 0) {
    return absl::InternalError(built ? built->out : "dpkg-deb did not run");
  }
  return deb;
}

// Builds steward-demo 1.2-3 (Architecture: all) with dpkg-deb in `dir`, as
// a publisher would before `artifact push`; its path, or the error.
inline absl::StatusOr<std::string> BuildDemoDeb(const std::string& dir) {
  return BuildStandInDeb(dir, dir, "steward-demo", "1.2-3", "all");
}

}  // namespace steward::ctl
