#pragma once
// The job kinds, one table: every place that needs to know what a kind of
// job is called, how its spec is checked, how it is shown and what a
// signature over it covers reads it here instead of switching on the
// JobSpec action itself (stewardctl once lost apt that way).
//
// Adding a kind: a field of JobSpec's `action` oneof, one row in
// job_kinds.cc, one file in agent/jobs/kinds/ and its line in that folder's
// registration list.
//
// The table is immutable; everything here is thread-safe.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "steward/v1/types.pb.h"

namespace steward {

// The parameters of an action as signed statements carry them: ordered
// (name, value) pairs, the same for the same action on every machine.
using JobParams = std::vector<std::pair<std::string, std::string>>;

struct JobKind {
  v1::JobSpec::ActionCase action;
  // As the JSON contract, the logs and signed statements spell it.
  const char* name;
  // True for every kind that changes the host (all of them today): such a
  // job needs an operator's signed statement on the agent.
  bool changes_host;
  // InvalidArgument naming the field and what it must be; called only for
  // a spec whose action is this kind.
  absl::Status (*check)(const v1::JobSpec& spec);
  // One short line for people: the package, program, file or unit.
  std::string (*summary)(const v1::JobSpec& spec);
  // What a signature over this action covers (common/jobs/job_statement.h):
  // every parameter that changes what the job does, large ones by digest.
  JobParams (*params)(const v1::JobSpec& spec);
  // A parameter a signed statement may leave empty to allow any value of
  // it (apt_package's version: "the newest the host's repositories offer",
  // so a job naming one of them is within it); null for none.
  const char* open_param = nullptr;
};

// Every kind, in the order of the oneof.
absl::Span<const JobKind> JobKinds();
// The kind of a spec's action, or of a name; null when there is none.
const JobKind* FindJobKind(v1::JobSpec::ActionCase action);
const JobKind* FindJobKind(absl::string_view name);
// The kind's name, "" for a spec without a known action.
std::string JobKindName(const v1::JobSpec& spec);

}  // namespace steward
