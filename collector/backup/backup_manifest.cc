#include "collector/backup/backup_manifest.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"

namespace steward::collector {

std::string BackupManifest::Serialize() const {
  std::string out = absl::StrCat("format = ", format, "\ncollector_version = ", collector_version,
                                 "\ncreated_unix_ms = ", created_unix_ms, "\nstore_sequence = ", store_sequence,
                                 "\ntsdb_sequence = ", tsdb_sequence, "\nstorage_format = ", storage_format,
                                 "\nbytes = ", bytes, "\n");
  for (const File& f : files) absl::StrAppend(&out, "file ", f.sha256, " ", f.size, " ", f.path, "\n");
  return out;
}

absl::StatusOr<BackupManifest> BackupManifest::Parse(absl::string_view text) {
  BackupManifest m;
  m.format = 0;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    ++line_no;
    auto bad = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat("manifest line ", line_no, ": ", why, ": '", line, "'"));
    };
    if (absl::ConsumePrefix(&line, "file ")) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 2));
      File f;
      if (parts.size() != 3 || !IsSha256Hex(parts[0]) || !absl::SimpleAtoi(parts[1], &f.size) || parts[2].empty() ||
          parts[2][0] == '/' || absl::StrContains(parts[2], "..")) {
        return bad("not 'file SHA256 SIZE RELATIVE_PATH'");
      }
      f.sha256 = std::string(parts[0]);
      f.path = std::string(parts[2]);
      m.files.push_back(std::move(f));
      continue;
    }
    std::vector<absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits(" = ", 1));
    if (kv.size() != 2) return bad("not 'key = value'");
    absl::string_view key = kv[0], value = kv[1];
    bool ok = true;
    if (key == "format") ok = absl::SimpleAtoi(value, &m.format);
    else if (key == "collector_version") m.collector_version = std::string(value);
    else if (key == "created_unix_ms") ok = absl::SimpleAtoi(value, &m.created_unix_ms);
    else if (key == "store_sequence") ok = absl::SimpleAtoi(value, &m.store_sequence);
    else if (key == "tsdb_sequence") ok = absl::SimpleAtoi(value, &m.tsdb_sequence);
    else if (key == "storage_format") ok = absl::SimpleAtoi(value, &m.storage_format);
    else if (key == "bytes") ok = absl::SimpleAtoi(value, &m.bytes);
    else return bad("unknown key");
    if (!ok) return bad("value is not a number");
  }
  if (m.format != kBackupFormat) {
    return absl::FailedPreconditionError(absl::StrCat("manifest format ", m.format, " is not the one this binary reads (",
                                                      kBackupFormat, ")"));
  }
  return m;
}

}  // namespace steward::collector
