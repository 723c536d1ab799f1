#include "collector/artifacts/artifact_trust.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::collector {
namespace {

// Hosts named in one message at most; the rest are counted.
constexpr size_t kNamedHosts = 10;

std::string HostName(const HostTrust& h) { return h.hostname.empty() ? h.agent_id : h.hostname; }

std::string NameSome(const std::vector<const HostTrust*>& hosts) {
  std::vector<std::string> names;
  for (size_t i = 0; i < hosts.size() && i < kNamedHosts; ++i) names.push_back(HostName(*hosts[i]));
  std::string out = absl::StrJoin(names, ", ");
  if (hosts.size() > kNamedHosts) absl::StrAppend(&out, " and ", hosts.size() - kNamedHosts, " more");
  return out;
}

std::string Hosts(size_t n) { return absl::StrCat(n, n == 1 ? " host" : " hosts"); }

}  // namespace

absl::StatusOr<std::vector<std::string>> CheckArtifactTrust(const v1::Artifact& artifact,
                                                            const std::vector<HostTrust>& hosts) {
  std::vector<std::string> signers;
  for (const v1::ArtifactSignature& s : artifact.signatures()) signers.push_back(s.key_id());
  const std::string what = absl::StrCat("artifact ", artifact.name(), " ", artifact.version(), " (",
                                        artifact.sha256().substr(0, 12), ")");
  const std::string signed_by =
      signers.empty() ? "it is unsigned" : absl::StrCat("it is signed only by key ", absl::StrJoin(signers, ", "));
  std::vector<const HostTrust*> refusing, offline, silent;
  size_t connected = 0;
  for (const HostTrust& h : hosts) {
    if (!h.connected) {
      offline.push_back(&h);
      continue;
    }
    ++connected;
    if (!h.trusted_key_ids.has_value()) {
      silent.push_back(&h);
      continue;
    }
    const bool accepts = std::any_of(signers.begin(), signers.end(), [&](const std::string& id) {
      return std::find(h.trusted_key_ids->begin(), h.trusted_key_ids->end(), id) != h.trusted_key_ids->end();
    });
    if (!accepts) refusing.push_back(&h);
  }
  const std::string fix =
      "sign it with a publisher key the agents trust (stewardctl artifact push FILE --sign-key KEY.key adds a "
      "signature to the stored artifact), or give the agents the publisher's .pub with --trusted-key";
  if (connected > 0 && refusing.size() == connected) {
    const std::string not_trusted_by =
        connected == 1 ? absl::StrCat("the connected host (", NameSome(refusing), ") does not trust")
                       : absl::StrCat("none of the ", connected, " connected hosts (", NameSome(refusing), ") trusts");
    return absl::FailedPreconditionError(absl::StrCat(
        "no connected target host would install ", what, ": ",
        signers.empty() ? absl::StrCat("it is unsigned, and agents install only artifacts signed by a key they "
                                       "trust (",
                                       Hosts(connected), " connected: ", NameSome(refusing), ")")
                        : absl::StrCat(signed_by, ", which ", not_trusted_by),
        "; ", fix));
  }
  std::vector<std::string> warnings;
  if (signers.empty()) {
    warnings.push_back(absl::StrCat(what, " is unsigned: agents install only artifacts signed by a key they trust; ",
                                    fix));
  }
  if (!refusing.empty()) {
    warnings.push_back(absl::StrCat(
        refusing.size(), " of ", Hosts(connected), " connected will refuse ", what, " and fail (",
        signers.empty() ? "it is unsigned" : absl::StrCat("they trust none of its signers: ", absl::StrJoin(signers, ", ")),
        "): ", NameSome(refusing)));
  }
  if (!silent.empty()) {
    warnings.push_back(absl::StrCat(Hosts(silent.size()),
                                    " did not say which publisher keys they trust (an older agent); whether they "
                                    "accept it is unknown: ",
                                    NameSome(silent)));
  }
  if (!offline.empty()) {
    warnings.push_back(absl::StrCat(Hosts(offline.size()),
                                    " offline; whether they accept it is known when they connect: ", NameSome(offline)));
  }
  return warnings;
}

}  // namespace steward::collector
