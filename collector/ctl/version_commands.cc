// stewardctl version: this stewardctl's build and the collector's.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/ctl/command.h"
#include "collector/ctl/commands.h"
#include "common/build_info/build_info.h"
#include "common/duration.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

absl::Status Version(CommandContext& c) {
  const BuildInfo& mine = GetBuildInfo();
  v1::GetVersionResponse theirs;
  absl::Status st = c.config_path().empty()
                        ? absl::FailedPreconditionError("no admin credential (--config FILE or STEWARD_CONFIG)")
                        : c.Connect();
  if (st.ok()) st = c.Call(&v1::AdminService::Stub::GetVersion, v1::GetVersionRequest(), &theirs);
  if (c.json()) {
    JsonWriter w;
    w.BeginObject().Key("stewardctl").BeginObject()
        .Key("version").String(mine.version)
        .Key("git_commit").String(mine.git_commit)
        .Key("build_type").String(mine.build_type)
        .Key("protocol_version").Uint(mine.protocol_version)
        .EndObject();
    if (st.ok()) {
      w.Key("collector").BeginObject()
          .Key("address").String(c.credential().collector)
          .Key("version").String(theirs.version())
          .Key("git_commit").String(theirs.git_commit())
          .Key("build_type").String(theirs.build_type())
          .Key("protocol_version").Uint(theirs.protocol_version())
          .Key("started").String(theirs.started_unix_ms() > 0
                                     ? FormatRfc3339(absl::FromUnixMillis(theirs.started_unix_ms()))
                                     : "")
          .EndObject();
    } else {
      w.Key("collector").Null().Key("collector_error").String(std::string(st.message()));
    }
    c.out() << w.EndObject().str() << "\n";
  } else {
    c.out() << VersionText("stewardctl") << "\n";
    if (st.ok()) {
      c.out() << "steward-collector " << theirs.version() << " (commit " << theirs.git_commit() << ", "
              << theirs.build_type() << ", protocol " << theirs.protocol_version() << ") at "
              << c.credential().collector;
      if (theirs.started_unix_ms() > 0) {
        c.out() << ", up since " << FormatRfc3339(absl::FromUnixMillis(theirs.started_unix_ms()));
      }
      c.out() << "\n";
    }
  }
  if (st.ok() && theirs.protocol_version() != mine.protocol_version) {
    c.err() << "warning: stewardctl speaks protocol " << mine.protocol_version << ", the collector "
            << theirs.protocol_version() << "; use the stewardctl of the collector's release\n";
  }
  // Without a credential the local version is the whole answer; an
  // unreachable collector is an error (exit 1) after it.
  if (!st.ok() && c.config_path().empty()) {
    if (!c.json()) c.out() << "collector: unknown (" << st.message() << ")\n";
    return absl::OkStatus();
  }
  return st;
}

}  // namespace

std::string StewardctlVersionLine() { return VersionText("stewardctl"); }

CommandNoun VersionNoun() {
  return {"version", "stewardctl's version and the collector's",
          {
              {.path = "version",
               .summary = "stewardctl's version, and the collector's when a credential is at hand",
               .examples = {"version --json"},
               .json_keys = {"stewardctl", "collector"},
               .local = true,
               .run = Version},
          }};
}

}  // namespace steward::ctl
