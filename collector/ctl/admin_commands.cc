// stewardctl admin backup: the collector's own maintenance (docs/backup.md).
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/ctl/command.h"
#include "common/duration.h"
#include "common/json_writer.h"
#include "common/status_macros.h"

namespace steward::ctl {
namespace {

absl::Status Backup(CommandContext& c) {
  const std::string& to = c.Get("to");
  if (to.empty()) return absl::InvalidArgumentError("--to DIR is required (a directory on the collector's host)");
  if (to[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--to '", to, "' is not an absolute path: the backup is written on the collector's host, not here"));
  }
  v1::BackupCollectorRequest req;
  req.set_path(to);
  v1::BackupCollectorResponse resp;
  RETURN_IF_ERROR(c.Call(&v1::AdminService::Stub::BackupCollector, req, &resp));
  if (c.json()) {
    JsonWriter w;
    w.BeginObject()
        .Key("path").String(resp.path())
        .Key("bytes").Uint(resp.bytes())
        .Key("files").Uint(resp.files())
        .Key("duration_ms").Int(resp.duration_ms())
        .Key("store_sequence").Uint(resp.store_sequence())
        .Key("tsdb_sequence").Uint(resp.tsdb_sequence())
        .Key("created").String(FormatRfc3339(absl::FromUnixMillis(resp.created_unix_ms())))
        .EndObject();
    c.out() << w.str() << "\n";
  } else {
    c.out() << "backup written to " << resp.path() << " on the collector's host: " << resp.files() << " files, "
            << resp.bytes() << " bytes, in " << resp.duration_ms() << " ms\n"
            << "restore with: steward-collector --restore-from " << resp.path() << " --data-dir NEW_DIR\n";
  }
  return absl::OkStatus();
}

}  // namespace

CommandNoun AdminNoun() {
  return {"admin", "the collector's own maintenance: backups",
          {
              {.path = "admin backup",
               .summary = "consistent online backup of the collector into a directory on its host",
               .details = "Checkpoints the store and the time series while agents keep reporting, and copies "
                          "the CA, keys, admin credential and artifacts, with a MANIFEST of SHA-256 sums. "
                          "DIR must be absolute and new or empty. Admins only. See docs/backup.md.",
               .flags = {TextFlag("to", "DIR", "directory on the collector's host to write the backup into")},
               .examples = {"admin backup --to /var/backups/steward/2024-05-01"},
               .json_keys = {"path", "bytes", "files", "duration_ms"},
               .run = Backup},
          }};
}

}  // namespace steward::ctl
