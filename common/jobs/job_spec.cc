#include "common/jobs/job_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/job_id.h"
#include "common/jobs/job_kinds.h"

namespace steward {

bool IsValidPackageName(absl::string_view name) {
  if (name.size() < 2 || name.size() > 128) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '+' && c != '.' && c != '-'))) return false;
  }
  return true;
}

bool IsValidPackageVersion(absl::string_view v) {
  if (v.empty() || v.size() > 128 || !(v[0] >= '0' && v[0] <= '9')) return false;
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '+' || c == '~' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidUnitName(absl::string_view unit) {
  if (unit.empty() || unit.size() > 256 || unit[0] == '-') return false;
  for (char c : unit) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                    c == '_' || c == '.' || c == '@' || c == '-' || c == '\\';
    if (!ok) return false;
  }
  return true;
}

bool IsCleanAbsolutePath(absl::string_view path) {
  if (path.size() < 2 || path.size() > 4096 || path[0] != '/' || path.back() == '/') return false;
  if (path.find('\0') != absl::string_view::npos) return false;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

absl::Status ValidateJobSpec(const v1::JobSpec& spec) {
  if (!IsValidJobId(spec.job_id())) return absl::InvalidArgumentError(absl::StrCat("job id must be ", kJobIdRule));
  if (const JobKind* kind = FindJobKind(spec.action_case()); kind != nullptr) return kind->check(spec);
  std::vector<std::string> names;
  for (const JobKind& k : JobKinds()) names.push_back(k.name);
  return absl::InvalidArgumentError(absl::StrCat("the job has no action (", absl::StrJoin(names, ", "), ")"));
}

}  // namespace steward
