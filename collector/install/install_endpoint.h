#pragma once
// The HTTPS endpoints machines install an agent from (docs/install.md,
// "Automatic install"):
//
//   GET /install/ca.pem                 the collector CA (anyone: the
//                                       installer checks its fingerprint)
//   GET /install/agent.sh               the install script, with this
//                                       collector's addresses as defaults
//   GET /install/packages               "ARCH VERSION SHA256 SIZE FILE" lines
//   GET /install/packages/ARCH.deb      the newest agent package for ARCH
//
// All but ca.pem need an enrollment token that could still enroll
// (`Authorization: Bearer TOKEN`), or the client certificate of an enrolled
// agent that is not disabled; a download does not use a token up, it is
// noted on the token (when, from where, the X-Steward-Hostname the
// installer sends) for `token list` and `hosts --pending`. Requests with a
// token are rate-limited per source address, so guessing tokens is slow.
//
// Thread-safe.

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "collector/http/https_server.h"
#include "collector/net/rate_limiter.h"

namespace steward::collector {

class Store;
class InstallCatalog;

// The install script (deploy/install-agent.sh, built in), with the lines
// DEFAULT_COLLECTOR="" and DEFAULT_DOWNLOAD="" given these values.
std::string InstallScriptWithDefaults(const std::string& collector, const std::string& download_url);

class InstallEndpoint {
 public:
  InstallEndpoint(Store* store, const InstallCatalog* catalog, std::function<absl::Time()> now);

  http::HttpResponse Handle(const http::HttpRequest& request, const http::HttpPeer& peer);

 private:
  // The token's id when `request` carries a token that could still
  // enroll, noting the download; otherwise the answer to give.
  absl::StatusOr<std::string> Authorize(const http::HttpRequest& request, const http::HttpPeer& peer,
                                        http::HttpResponse* refusal);

  Store* store_;
  const InstallCatalog* catalog_;
  std::function<absl::Time()> now_;
  KeyedRateLimiter per_source_;
};

}  // namespace steward::collector
