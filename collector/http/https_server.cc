#include "collector/http/https_server.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "collector/net/listen_socket.h"
#include "common/log_format.h"
#include "spdlog/spdlog.h"

namespace steward::collector::http {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

absl::StatusOr<SSL_CTX*> MakeContext(const std::string& cert_pem, const std::string& key_pem,
                                     const std::string& client_ca_pem) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError(absl::StrCat("TLS context: ", OpenSslError()));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  auto fail = [ctx](absl::string_view what) {
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", OpenSslError()));
  };
  BIO* certs = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (ok) {  // the rest of the chain, if any
    X509* extra = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(certs);
  ERR_clear_error();  // the end of the PEM chain is reported as an error
  if (!ok) return fail("HTTPS server certificate");
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) return fail("HTTPS server key");
  if (!client_ca_pem.empty()) {
    BIO* ca_bio = BIO_new_mem_buf(client_ca_pem.data(), static_cast<int>(client_ca_pem.size()));
    X509* ca = PEM_read_bio_X509(ca_bio, nullptr, nullptr, nullptr);
    BIO_free(ca_bio);
    ok = ca != nullptr && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) == 1;
    X509_free(ca);
    if (!ok) return fail("HTTPS client CA");
    // Asked for, not required: a machine without an identity yet comes
    // with a token instead. A certificate that does not verify fails the
    // handshake.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    static const unsigned char kSessionContext[] = "steward-install";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  }
  return ctx;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

void SetTimeout(int fd, int option, absl::Duration d) {
  timeval tv = absl::ToTimeval(std::max(d, absl::Milliseconds(1)));
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

bool WriteAll(SSL* ssl, absl::string_view data) {
  while (!data.empty()) {
    int n = SSL_write(ssl, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

HttpResponse HttpResponse::Error(int status, std::string message) {
  HttpResponse r;
  r.status = status;
  r.body = absl::StrCat("error: ", message, "\n");
  return r;
}

absl::StatusOr<std::unique_ptr<HttpsServer>> HttpsServer::Start(HttpsServerOptions options, HttpHandler handler) {
  std::unique_ptr<HttpsServer> server(new HttpsServer());
  auto ctx = MakeContext(options.cert_pem, options.key_pem, options.client_ca_pem);
  if (!ctx.ok()) return ctx.status();
  server->ctx_ = *ctx;
  auto bound = BindListeners(options.host, options.port);
  if (!bound.ok()) return bound.status();
  server->listen_fds_ = std::move(bound->fds);
  server->port_ = bound->port;
  server->options_ = std::move(options);
  server->handler_ = std::move(handler);
  server->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

HttpsServer::~HttpsServer() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

HttpsServerStats HttpsServer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void HttpsServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    acceptor_.join();
  }
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
  absl::MutexLock lock(&mu_);
  for (int fd : open_) ::shutdown(fd, SHUT_RDWR);  // reads and writes fail at once
  mu_.Await(absl::Condition(
      +[](absl::flat_hash_set<int>* open) { return open->empty(); }, &open_));
}

void HttpsServer::AcceptLoop() {
  std::vector<pollfd> fds;
  for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({wake_fd_, POLLIN, 0});
  while (!stopping_.load()) {
    int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno != EINTR) ::usleep(100000);
      continue;
    }
    if (stopping_.load()) break;
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      int fd = ::accept4(fds[i].fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) ::usleep(50000);  // wait for descriptors instead of spinning
        continue;
      }
      std::string source = SourceOf(peer);
      {
        absl::MutexLock lock(&mu_);
        size_t& from_source = per_source_[source];
        if (open_.size() >= options_.max_connections || from_source >= options_.max_per_source) {
          ++stats_.refused_cap;
          if (from_source == 0) per_source_.erase(source);
          ::close(fd);
          continue;
        }
        ++from_source;
        open_.insert(fd);
        ++stats_.admitted;
      }
      std::thread([this, fd, source = std::move(source)]() mutable { Serve(fd, std::move(source)); }).detach();
    }
  }
}

void HttpsServer::Release(int fd, const std::string& source) {
  absl::MutexLock lock(&mu_);
  open_.erase(fd);
  auto it = per_source_.find(source);
  if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
  ::close(fd);  // under the lock: Stop never shuts down a reused number
}

void HttpsServer::Serve(int fd, std::string source) {
  const absl::Time deadline = absl::Now() + options_.request_timeout;
  SetTimeout(fd, SO_RCVTIMEO, options_.request_timeout);
  SetTimeout(fd, SO_SNDTIMEO, options_.write_timeout);
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd);
  auto count = [this](uint64_t HttpsServerStats::*field) {
    absl::MutexLock lock(&mu_);
    ++(stats_.*field);
  };
  auto finish = [&] {
    SSL_free(ssl);
    ERR_clear_error();
    Release(fd, source);
  };
  if (SSL_accept(ssl) != 1) {
    spdlog::debug("https: TLS handshake with {} failed: {}", source, OpenSslError());
    count(&HttpsServerStats::handshake_failures);
    return finish();
  }
  std::string head;
  char buf[4096];
  HttpResponse response;
  bool head_only = false;
  size_t head_len = 0;
  while ((head_len = HeadLength(head)) == 0) {
    if (head.size() > kMaxHeadBytes) break;
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    SetTimeout(fd, SO_RCVTIMEO, left);
    int n = SSL_read(ssl, buf, sizeof(buf));
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  if (head_len == 0) {
    count(&HttpsServerStats::bad_requests);
    if (head.size() > kMaxHeadBytes) {
      response = HttpResponse::Error(431, absl::StrCat("request head of more than ", kMaxHeadBytes, " bytes"));
    } else if (head.empty()) {
      return finish();  // nothing asked: nothing to answer
    } else {
      response = HttpResponse::Error(408, "the request head did not arrive in time");
    }
  } else {
    HttpError error;
    auto request = ParseHttpRequest(absl::string_view(head).substr(0, head_len), &error);
    if (!request.ok()) {
      count(&HttpsServerStats::bad_requests);
      response = HttpResponse::Error(error.status, error.message);
    } else if (request->method != "GET" && request->method != "HEAD") {
      response = HttpResponse::Error(405, absl::StrCat("method ", request->method, " is not served; use GET"));
      response.headers.emplace_back("Allow", "GET, HEAD");
    } else {
      head_only = request->method == "HEAD";
      HttpPeer peer;
      peer.address = source;
      if (X509* cert = SSL_get_peer_certificate(ssl); cert != nullptr) {
        if (SSL_get_verify_result(ssl) == X509_V_OK) {
          char cn[256] = {0};
          if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)) > 0) {
            peer.client_cn = cn;
          }
          if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr); bn != nullptr) {
            if (char* hex = BN_bn2hex(bn); hex != nullptr) {
              // As InspectCert gives it: lower case, no leading zeros.
              std::string serial = absl::AsciiStrToLower(hex);
              size_t first = serial.find_first_not_of('0');
              peer.client_serial = first == std::string::npos ? "0" : serial.substr(first);
              OPENSSL_free(hex);
            }
            BN_free(bn);
          }
        }
        X509_free(cert);
      }
      response = handler_(*request, peer);
    }
  }
  int file = -1;
  uint64_t length = response.body.size();
  if (!response.file_path.empty()) {
    file = ::open(response.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (file < 0 || ::fstat(file, &st) != 0) {
      spdlog::error("https: cannot open {}: {}", response.file_path, std::strerror(errno));
      if (file >= 0) ::close(file);
      file = -1;
      response = HttpResponse::Error(500, "the file to send cannot be read on the collector; see its log");
      length = response.body.size();
    } else {
      length = static_cast<uint64_t>(st.st_size);
    }
  }
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ", Reason(response.status), "\r\n",
                                 "Content-Type: ", response.content_type, "\r\n", "Content-Length: ", length,
                                 "\r\n", "Connection: close\r\n", "Cache-Control: no-store\r\n",
                                 "X-Content-Type-Options: nosniff\r\n");
  for (const auto& [name, value] : response.headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  out += "\r\n";
  bool ok = WriteAll(ssl, out);
  if (ok && !head_only) {
    if (file >= 0) {
      std::vector<char> chunk(64 << 10);
      while (ok) {
        ssize_t n = ::read(file, chunk.data(), chunk.size());
        if (n <= 0) break;
        ok = WriteAll(ssl, absl::string_view(chunk.data(), static_cast<size_t>(n)));
      }
    } else {
      ok = WriteAll(ssl, response.body);
    }
  }
  if (file >= 0) ::close(file);
  if (ok) SSL_shutdown(ssl);
  count(&HttpsServerStats::responses);
  finish();
}

}  // namespace steward::collector::http
