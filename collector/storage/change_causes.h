#pragma once
// Which inventory changes a Steward job made, and how the change log reads
// them back: pure functions over an agent's changes and jobs, used by the
// store (store_inventory.cc) and tested without RocksDB.
//
// Attribution, when a change is logged: the change is the job's when the
// job names the same package (its result's package; before a result, the
// apt or remove action's name, the installed artifact's name, or the
// package of the job a rollback undoes) and the job had no final result
// when the change was applied, or finished at most kJobAttributionWindow
// before the agent noticed the change (the agent notices a change at its
// next inventory scan, one collection interval after dpkg wrote it). The
// agent's envelopes arrive in order, so a change noticed during a job is
// applied while the job is still unfinished in the store, and one noticed
// after it finds its result. A change of that package made by hand within
// the window is counted as the job's: the one known blind spot.
//
// Reading back (FoldRolledBack): the steps one attempt made on one item and
// undid (an upgrade and its rollback, or a failed upgrade that dpkg left
// half-installed, which the inventory shows as "removed 1.0", then "added
// 1.0" once the rollback reinstalled it) become one ROLLED_BACK change; a
// job that ended rolled back without any step seen becomes one too
// (UnseenRollbacks).

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "steward/v1/admin.pb.h"
#include "steward/v1/types.pb.h"

namespace steward::collector {

// How long after a job's end a change of its package is still its own.
inline constexpr absl::Duration kJobAttributionWindow = absl::Minutes(2);

// An artifact's metadata by sha256 (a default Artifact when unknown).
using ArtifactLookup = std::function<v1::Artifact(const std::string& sha256)>;

// The package a job changes and the version it aims at ("" for a removal).
struct JobTarget {
  std::string package;  // empty: the job changes no package (script, file, restart)
  std::string version;
};

// What `job` changes, as far as the collector knows. `jobs` are the same
// agent's (to follow a rollback to the job it undoes: its package, and the
// version that job found).
JobTarget TargetOf(const v1::Job& job, const std::vector<v1::Job>& jobs,
                   const ArtifactLookup& artifacts);

// Sets job_id and deployment_id of each change that one of `jobs` (one
// agent's, any order) made, by the rules above. An unfinished job wins
// over a finished one, a later one over an earlier one.
void AttributeChanges(const std::vector<v1::Job>& jobs, const ArtifactLookup& artifacts,
                      std::vector<v1::InventoryChange>* changes);

// `changes` (one agent's, oldest first) with every run of consecutive steps
// on one item that the same attempt made and that ends where it started
// folded into one ROLLED_BACK change at the time of its first step, with
// the version tried (an intermediate version, else the job's target). An
// attempt is one deployment (its install and its rollback jobs) or, outside
// deployments, one job and the rollback jobs of it; steps with no job are
// never folded. Other steps are returned as they are, in order.
std::vector<v1::InventoryChange> FoldRolledBack(const std::vector<v1::InventoryChange>& changes,
                                                const std::vector<v1::Job>& jobs,
                                                const ArtifactLookup& artifacts);

// ROLLED_BACK changes for the package jobs among `jobs` that ended
// JOB_ROLLED_BACK at or after `since_ms` and have no change in `shown`: the
// agent's inventory scan never saw their attempt (dpkg keeps its state in
// its journal until the end, and the job put the old version back within
// one scan interval), yet an operator should see that it happened. At the
// job's start time, from the job's result (package, versions) and target
// (the version tried); source "rpm" for an rpm artifact, else "dpkg"; no
// arch (the job does not say).
std::vector<v1::InventoryChange> UnseenRollbacks(const std::vector<v1::InventoryChange>& shown,
                                                 const std::vector<v1::Job>& jobs,
                                                 const ArtifactLookup& artifacts, int64_t since_ms);

// Whether `change` passes the ListChanges cause filter.
bool MatchesCause(const v1::InventoryChange& change, v1::ChangeCause cause);

}  // namespace steward::collector
