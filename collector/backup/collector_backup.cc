#include "collector/backup/collector_backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/storage/store.h"
#include "collector/tsdb/tsdb_store.h"
#include "common/build_info/build_info.h"
#include "common/crypto.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace steward::collector {
namespace fs = std::filesystem;
namespace {

// The files of the data directory besides the databases: credentials and
// artifact content (relative paths; directories are copied whole).
constexpr const char* kCopiedFiles[] = {"ca.pem", "admin.conf"};
constexpr const char* kCopiedDirs[] = {"pki", "artifacts/blobs"};

// Refuses anything but an absolute path that is missing or an empty directory.
absl::Status CheckEmptyTarget(const std::string& path, absl::string_view what) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", path, "' is not an absolute path"));
  }
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::FailedPreconditionError(absl::StrCat(what, " '", path, "': ", ec.message()));
  }
  if (!fs::exists(st)) return absl::OkStatus();
  if (!fs::is_directory(st)) {
    return absl::FailedPreconditionError(absl::StrCat(what, " '", path, "' exists and is not a directory"));
  }
  if (!fs::is_empty(path, ec) || ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " '", path, "' is not empty: give a new or empty directory"));
  }
  return absl::OkStatus();
}

absl::Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path, " to sync it"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::DataLossError(absl::StrCat("cannot sync ", path));
  return absl::OkStatus();
}

// Copies `from` to `to` (a new file, 0600) and syncs it.
absl::Status CopyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create the directory of ", to, ": ", ec.message()));
  if (!fs::copy_file(from, to, fs::copy_options::none, ec) || ec) {
    return absl::InternalError(absl::StrCat("cannot copy ", from, " to ", to, ": ", ec.message()));
  }
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, ec);
  return SyncPath(to);
}

// Every regular file under `root`, relative, sorted.
absl::StatusOr<std::vector<std::string>> FilesUnder(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(fs::relative(it->path(), root).generic_string());
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", root, ": ", ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

namespace {
absl::Mutex backup_mu;
std::string* running_backup ABSL_GUARDED_BY(backup_mu) = nullptr;
}  // namespace

absl::StatusOr<BackupSlot> BackupSlot::Acquire(const std::string& to) {
  absl::MutexLock lock(&backup_mu);
  if (running_backup != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("a backup is being written already (to ", *running_backup,
                                                      "); wait until it is done, then try again"));
  }
  running_backup = new std::string(to);
  BackupSlot slot;
  slot.held_ = true;
  return slot;
}

BackupSlot::~BackupSlot() {
  if (!held_) return;
  absl::MutexLock lock(&backup_mu);
  delete running_backup;
  running_backup = nullptr;
}

absl::StatusOr<BackupSummary> WriteBackup(const BackupSources& src, const std::string& to) {
  const absl::Time start = absl::Now();
  if (src.store == nullptr) return absl::InternalError("backup: no store");
  ASSIGN_OR_RETURN(BackupSlot slot, BackupSlot::Acquire(to));
  RETURN_IF_ERROR(CheckEmptyTarget(to, "backup directory"));
  RETURN_IF_ERROR(MakeDirs(to, 0700));

  BackupManifest manifest;
  manifest.created_unix_ms = absl::ToUnixMillis(src.now());
  manifest.collector_version =
      absl::StrCat(GetBuildInfo().version, " (commit ", GetBuildInfo().git_commit, ")");
  manifest.storage_format = Store::kStorageFormat;
  // The store first, the TSDB after it: see the header.
  RETURN_IF_ERROR(src.store->Checkpoint(to + "/db", &manifest.store_sequence));
  if (src.metrics != nullptr) RETURN_IF_ERROR(src.metrics->Checkpoint(to + "/tsdb", &manifest.tsdb_sequence));

  for (const char* name : kCopiedFiles) {
    std::string from = absl::StrCat(src.data_dir, "/", name);
    if (FileExists(from)) RETURN_IF_ERROR(CopyFile(from, absl::StrCat(to, "/", name)));
  }
  for (const char* dir : kCopiedDirs) {
    std::string from = absl::StrCat(src.data_dir, "/", dir);
    if (!FileExists(from)) continue;
    ASSIGN_OR_RETURN(std::vector<std::string> files, FilesUnder(from));
    for (const std::string& f : files) {
      RETURN_IF_ERROR(CopyFile(absl::StrCat(from, "/", f), absl::StrCat(to, "/", dir, "/", f)));
    }
  }

  ASSIGN_OR_RETURN(std::vector<std::string> files, FilesUnder(to));
  for (const std::string& f : files) {
    BackupManifest::File entry;
    entry.path = f;
    const std::string path = absl::StrCat(to, "/", f);
    ASSIGN_OR_RETURN(entry.sha256, Sha256OfFile(path));
    std::error_code ec;
    entry.size = fs::file_size(path, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot stat ", path, ": ", ec.message()));
    manifest.bytes += entry.size;
    manifest.files.push_back(std::move(entry));
  }
  // The manifest last: a backup without one is incomplete and refused.
  RETURN_IF_ERROR(WriteFileAtomic(absl::StrCat(to, "/", kBackupManifestName), manifest.Serialize(), 0600));
  RETURN_IF_ERROR(SyncPath(to));

  BackupSummary summary;
  summary.path = to;
  summary.bytes = manifest.bytes;
  summary.files = manifest.files.size();
  summary.duration = absl::Now() - start;
  summary.manifest = std::move(manifest);
  return summary;
}

absl::StatusOr<BackupManifest> VerifyBackup(const std::string& dir) {
  const std::string manifest_path = absl::StrCat(dir, "/", kBackupManifestName);
  if (!FileExists(manifest_path)) {
    return absl::NotFoundError(
        absl::StrCat(manifest_path, " is missing: not a Steward backup, or one that did not finish"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(manifest_path));
  absl::StatusOr<BackupManifest> manifest = BackupManifest::Parse(text);
  if (!manifest.ok()) {
    return absl::Status(manifest.status().code(), absl::StrCat(manifest_path, ": ", manifest.status().message()));
  }
  for (const BackupManifest::File& f : manifest->files) {
    const std::string path = absl::StrCat(dir, "/", f.path);
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return absl::DataLossError(absl::StrCat("backup file ", f.path, " is missing (", ec.message(), ")"));
    if (size != f.size) {
      return absl::DataLossError(
          absl::StrCat("backup file ", f.path, " has ", size, " bytes, the manifest says ", f.size));
    }
    ASSIGN_OR_RETURN(std::string sha, Sha256OfFile(path));
    if (sha != f.sha256) {
      return absl::DataLossError(absl::StrCat("backup file ", f.path, " has SHA-256 ", sha,
                                              ", the manifest says ", f.sha256, ": the backup is damaged"));
    }
  }
  return manifest;
}

absl::StatusOr<RestoreSummary> RestoreBackup(const std::string& from, const std::string& data_dir) {
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(CheckEmptyTarget(data_dir, "--data-dir"));
  ASSIGN_OR_RETURN(BackupManifest manifest, VerifyBackup(from));
  if (manifest.storage_format > Store::kStorageFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup holds storage format ", manifest.storage_format, " (written by steward-collector ",
        manifest.collector_version, "); this binary knows formats up to ", Store::kStorageFormat,
        ": restore with that version or newer"));
  }
  RETURN_IF_ERROR(MakeDirs(data_dir, 0700));
  RestoreSummary summary;
  for (const BackupManifest::File& f : manifest.files) {
    RETURN_IF_ERROR(CopyFile(absl::StrCat(from, "/", f.path), absl::StrCat(data_dir, "/", f.path)));
    summary.bytes += f.size;
    ++summary.files;
  }
  RETURN_IF_ERROR(MakeDirs(data_dir + "/artifacts/blobs", 0700));
  // Open both once: proves they are readable and runs the migration.
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(data_dir + "/db"));
  }
  if (FileExists(data_dir + "/tsdb")) {
    // Nothing dropped here: retention is the collector's setting, applied
    // when it runs.
    tsdb::TsdbOptions keep_all;
    keep_all.retention_ms = 0;
    keep_all.rollup_retention_ms = 0;
    ASSIGN_OR_RETURN(std::unique_ptr<tsdb::TsdbStore> metrics, tsdb::TsdbStore::Open(data_dir + "/tsdb", keep_all));
  }
  summary.manifest = std::move(manifest);
  summary.duration = absl::Now() - start;
  return summary;
}

}  // namespace steward::collector
