#include "collector/install/install_endpoint.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "collector/install/install_catalog.h"
#include "common/install/install_script.h"
#include "collector/storage/store.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::collector {
namespace {

constexpr char kPaths[] =
    "the install endpoints are /install/ca.pem, /install/agent.sh, /install/packages and "
    "/install/packages/ARCH.deb";

// What the installer says its host is called: a DNS-ish name, or "" when
// it sent nothing usable (it is shown to operators, never trusted).
std::string CleanHostname(absl::string_view sent) {
  if (sent.empty() || sent.size() > 253) return "";
  for (char c : sent) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return "";
  }
  return std::string(sent);
}

}  // namespace

std::string InstallScriptWithDefaults(const std::string& collector, const std::string& download_url) {
  // Only characters that need no quoting in a double-quoted shell string
  // reach the script (addresses and URLs are built by the collector).
  auto safe = [](const std::string& s) {
    for (char c : s) {
      if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::string_view(".:-_/[]").find(c) !=
                                                                       absl::string_view::npos)) {
        return std::string();
      }
    }
    return s;
  };
  std::string script(InstallAgentScript());
  script = absl::StrReplaceAll(script, {{"\nDEFAULT_COLLECTOR=\"\"\n",
                                         absl::StrCat("\nDEFAULT_COLLECTOR=\"", safe(collector), "\"\n")}});
  return absl::StrReplaceAll(script, {{"\nDEFAULT_DOWNLOAD=\"\"\n",
                                       absl::StrCat("\nDEFAULT_DOWNLOAD=\"", safe(download_url), "\"\n")}});
}

InstallEndpoint::InstallEndpoint(Store* store, const InstallCatalog* catalog, std::function<absl::Time()> now)
    : store_(store), catalog_(catalog), now_(std::move(now)), per_source_(/*per_second=*/5, /*burst=*/60) {}

absl::StatusOr<std::string> InstallEndpoint::Authorize(const http::HttpRequest& request, const http::HttpPeer& peer,
                                                       http::HttpResponse* refusal) {
  absl::Duration retry;
  if (!per_source_.Allow(peer.address, now_(), &retry)) {
    *refusal = http::HttpResponse::Error(
        429, absl::StrCat("too many requests from this address; retry in ",
                          absl::FormatDuration(absl::Ceil(retry, absl::Seconds(1)))));
    refusal->headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(absl::Ceil(retry, absl::Seconds(1)))));
    return absl::PermissionDeniedError("rate");
  }
  absl::string_view auth = request.Header("authorization");
  // An enrolled agent's own certificate (the installer run again on a host
  // that has an agent: an upgrade or a new setting) stands for a token,
  // unless the host was disabled or removed.
  if (auth.empty() && absl::StartsWith(peer.client_cn, "agent/")) {
    const std::string agent_id = peer.client_cn.substr(6);
    auto agent = store_->GetAgent(agent_id);
    // Its current certificate (or the one a renewal just replaced), as the
    // agent service accepts it.
    const bool current = agent.ok() && (agent->cert_serial().empty() || agent->cert_serial() == peer.client_serial ||
                                        (!agent->previous_cert_serial().empty() &&
                                         agent->previous_cert_serial() == peer.client_serial));
    if (agent.ok() && !agent->disabled() && current) return std::string("agent/") + agent_id;
    *refusal = http::HttpResponse::Error(
        403, !agent.ok()        ? absl::StrCat("agent ", agent_id, " is not enrolled here any more: give a token")
             : agent->disabled() ? absl::StrCat("agent ", agent_id, " is disabled ('stewardctl hosts enable')")
                                 : absl::StrCat("this certificate of agent ", agent_id, " is no longer valid"));
    return absl::PermissionDeniedError("agent");
  }
  if (!absl::StartsWithIgnoreCase(auth, "Bearer ")) {
    *refusal = http::HttpResponse::Error(
        401, "an enrollment token is required: send 'Authorization: Bearer TOKEN' (from 'stewardctl token create'), "
             "or an enrolled agent's certificate");
    refusal->headers.emplace_back("WWW-Authenticate", "Bearer");
    return absl::UnauthenticatedError("no token");
  }
  std::string token(absl::StripAsciiWhitespace(auth.substr(7)));
  size_t dot = token.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == token.size() || token.size() > 200) {
    *refusal = http::HttpResponse::Error(401, "the enrollment token is malformed: expected ID.SECRET as "
                                              "'stewardctl token create' prints it");
    return absl::UnauthenticatedError("malformed");
  }
  std::string id = token.substr(0, dot);
  int64_t now = absl::ToUnixSeconds(now_());
  auto checked = store_->CheckToken(id, token.substr(dot + 1), now);
  if (!checked.ok()) {
    spdlog::warn("install endpoint: {} {} from {} refused: {}", request.method, request.path, peer.address,
                 checked.status().message());
    int status = absl::IsUnauthenticated(checked.status()) ? 401 : 503;
    *refusal = http::HttpResponse::Error(status, std::string(checked.status().message()));
    return checked.status();
  }
  std::string hostname = CleanHostname(request.Header("x-steward-hostname"));
  if (auto s = store_->RecordTokenFetch(id, now, peer.address, hostname); !s.ok()) {
    spdlog::warn("install endpoint: cannot note a download with token {}: {}", id, s.message());
  }
  return id;
}

http::HttpResponse InstallEndpoint::Handle(const http::HttpRequest& request, const http::HttpPeer& peer) {
  const std::string& path = request.path;
  if (path == "/install/ca.pem") {
    http::HttpResponse r;
    r.content_type = "application/x-pem-file";
    r.body = catalog_->settings().ca_pem;
    return r;
  }
  if (path != "/install/agent.sh" && path != "/install/packages" && !absl::StartsWith(path, "/install/packages/")) {
    return http::HttpResponse::Error(404, absl::StrCat("no such path: ", kPaths));
  }
  http::HttpResponse refusal;
  auto token_id = Authorize(request, peer, &refusal);
  if (!token_id.ok()) return refusal;

  if (path == "/install/agent.sh") {
    http::HttpResponse r;
    r.content_type = "text/x-shellscript; charset=utf-8";
    r.body = InstallScriptWithDefaults(catalog_->settings().agent_address, catalog_->download_url());
    return r;
  }
  if (path == "/install/packages") {
    http::HttpResponse r;
    for (const auto& p : catalog_->Packages()) {
      absl::StrAppend(&r.body, p.meta.arch(), " ", p.meta.version(), " ", p.meta.sha256(), " ", p.meta.size(), " ",
                      p.meta.file_name(), "\n");
    }
    return r;
  }
  absl::string_view name = absl::string_view(path).substr(std::string("/install/packages/").size());
  if (!absl::ConsumeSuffix(&name, ".deb") || name.empty() || name.find('/') != absl::string_view::npos) {
    return http::HttpResponse::Error(404, absl::StrCat("no such path: ", kPaths));
  }
  auto package = catalog_->PackageFor(name);
  if (!package.ok()) return http::HttpResponse::Error(404, std::string(package.status().message()));
  spdlog::info("install endpoint: {} {} to {} ({}) with token {}", package->meta.file_name(),
               package->meta.version(), peer.address, CleanHostname(request.Header("x-steward-hostname")),
               *token_id);
  http::HttpResponse r;
  r.content_type = "application/vnd.debian.binary-package";
  r.file_path = package->path;
  r.headers.emplace_back("X-Steward-Sha256", package->meta.sha256());
  r.headers.emplace_back("X-Steward-Version", package->meta.version());
  r.headers.emplace_back("Content-Disposition", absl::StrCat("attachment; filename=\"", package->meta.file_name(), "\""));
  return r;
}

}  // namespace steward::collector
