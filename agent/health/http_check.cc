#include "agent/health/http_check.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/health/net_connect.h"
#include "agent/health/tcp_check.h"
#include "agent/health/tls_stream.h"

namespace steward::agent {
namespace {

// Prefixes a failure with the phase it happened in; a deadline becomes
// "timeout after 3s <phase>".
absl::Status InPhase(const absl::Status& s, absl::string_view phase, absl::Duration timeout) {
  if (absl::IsDeadlineExceeded(s)) {
    return absl::DeadlineExceededError(
        absl::StrCat("timeout after ", absl::FormatDuration(timeout), " ", phase));
  }
  return s;
}

}  // namespace

HttpCheck::HttpCheck(std::string check_name, Options options)
    : check_name_(std::move(check_name)), options_(std::move(options)) {
  const CheckUrl& u = options_.url;
  std::string host = u.endpoint.host.find(':') != std::string::npos
                         ? absl::StrCat("[", u.endpoint.host, "]")
                         : u.endpoint.host;
  if (!u.default_port) absl::StrAppend(&host, ":", u.endpoint.port);
  request_ = absl::StrCat("GET ", u.target, " HTTP/1.1\r\nHost: ", host,
                          "\r\nUser-Agent: steward-agent\r\nAccept: */*\r\n"
                          "Connection: close\r\n\r\n");
}

absl::StatusOr<HttpResponseHead> HttpCheck::Fetch(absl::Time deadline) {
  const CheckUrl& u = options_.url;
  const std::string where = JoinHostPort(u.endpoint.host, u.endpoint.port);
  auto fd = ConnectTcp(u.endpoint.host, u.endpoint.port, deadline);
  if (!fd.ok())
    return InPhase(fd.status(), absl::StrCat("connecting to ", where), options_.timeout);
  std::unique_ptr<ByteStream> stream;
  if (u.tls) {
    TlsClientOptions tls{u.endpoint.host, !options_.insecure, options_.ca_file, where};
    auto s = TlsStream::Handshake(std::move(*fd), tls, deadline);
    if (!s.ok()) {
      return InPhase(s.status(), absl::StrCat("in the TLS handshake with ", where),
                     options_.timeout);
    }
    stream = std::move(*s);
  } else {
    stream = std::make_unique<SocketStream>(std::move(*fd));
  }
  if (auto s = stream->WriteAll(request_, deadline); !s.ok()) {
    return InPhase(s, "sending the request", options_.timeout);
  }
  std::string head;
  char buf[8192];
  while (true) {
    auto n = stream->Read(buf, std::min(sizeof buf, kMaxHttpResponseHead - head.size()), deadline);
    if (!n.ok()) return InPhase(n.status(), "waiting for the response", options_.timeout);
    if (*n == 0) {
      if (head.empty()) {
        return absl::UnavailableError(
            absl::StrCat(where, " closed the connection without a response"));
      }
      // Name garbage as such rather than as an early close: judge the
      // status line (the rest of the head may be cut anywhere).
      if (auto partial = ParseHttpResponseHead(absl::string_view(head).substr(0, head.find('\n')));
          !partial.ok()) {
        return absl::UnavailableError(
            absl::StrCat("malformed response from ", where, ": ", partial.status().message()));
      }
      return absl::UnavailableError(
          absl::StrCat(where, " closed the connection in the response head"));
    }
    const size_t scan_from = head.size() > 3 ? head.size() - 3 : 0;
    head.append(buf, *n);
    size_t end = FindHttpHeadEnd(absl::string_view(head).substr(scan_from));
    if (end != absl::string_view::npos) {
      head.resize(scan_from + end);
      break;
    }
    if (head.size() >= kMaxHttpResponseHead) {
      return absl::UnavailableError(
          absl::StrCat("response head from ", where, " is larger than 64 KiB"));
    }
  }
  auto parsed = ParseHttpResponseHead(head);
  if (!parsed.ok()) {
    return absl::UnavailableError(
        absl::StrCat("malformed response from ", where, ": ", parsed.status().message()));
  }
  return parsed;
}

CheckOutcome HttpCheck::Run(absl::Time now) {
  CheckOutcome out;
  const absl::Time start = absl::Now();
  auto head = Fetch(start + options_.timeout);
  const absl::Duration latency = absl::Now() - start;
  if (!head.ok()) {
    out.status = v1::CheckState::DOWN;
    out.reason = std::string(head.status().message());
    return out;
  }
  auto labels = CheckLabels(check_name_);
  out.metrics.push_back(
      {"app_check_latency_seconds", labels, absl::ToDoubleSeconds(latency), false});
  out.metrics.push_back({"app_http_status", labels, static_cast<double>(head->status), false});
  if (head->status != options_.expect_status) {
    out.status = v1::CheckState::DOWN;
    out.reason = absl::StrCat("HTTP ", head->status, " (expected ", options_.expect_status, ")");
    return out;
  }
  GradeLatency(latency, options_.slow, "response", &out);
  return out;
}

absl::StatusOr<std::unique_ptr<Check>> MakeHttpCheck(const v1::CheckSpec& spec,
                                                     const CheckEnv& env) {
  const auto& p = spec.params();
  HttpCheck::Options o;
  auto url = ParseCheckUrl(p.at("url"));
  if (!url.ok()) return url.status();
  o.url = *url;
  if (auto it = p.find("expect_status"); it != p.end()) {
    (void)absl::SimpleAtoi(it->second, &o.expect_status);
  }
  o.timeout = CheckDurationParam(spec, "timeout", kDefaultCheckTimeout);
  o.slow = SlowParam(spec);
  if (auto it = p.find("ca_file"); it != p.end()) o.ca_file = it->second;
  if (auto it = p.find("insecure"); it != p.end()) o.insecure = it->second == "true";
  return std::make_unique<HttpCheck>(spec.name(), std::move(o));
}

}  // namespace steward::agent
