#include "agent/health/tls_stream.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <functional>

#include "absl/strings/str_cat.h"

namespace steward::agent {
namespace {

constexpr size_t kChunk = 16 * 1024;

std::string OpenSslError(absl::string_view what) {
  unsigned long e = ERR_get_error();
  if (e == 0) return std::string(what);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return absl::StrCat(what, ": ", buf);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char addr[16];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

}  // namespace

struct TlsStream::State {
  UniqueFd fd;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;   // Owns rbio and wbio.
  BIO* rbio = nullptr;  // Network -> OpenSSL.
  BIO* wbio = nullptr;  // OpenSSL -> network.
  bool peer_closed = false;

  ~State() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }

  // Sends whatever OpenSSL has queued for the network.
  absl::Status Flush(absl::Time deadline) {
    char buf[kChunk];
    while (BIO_ctrl_pending(wbio) > 0) {
      int n = BIO_read(wbio, buf, sizeof buf);
      if (n <= 0) break;
      if (auto s = SendAll(fd.get(), absl::string_view(buf, static_cast<size_t>(n)), deadline);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  // Receives one chunk from the network for OpenSSL; at EOF the read BIO
  // reports end of file instead of "retry".
  absl::Status Fill(absl::Time deadline) {
    char buf[kChunk];
    auto n = RecvSome(fd.get(), buf, sizeof buf, deadline);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      peer_closed = true;
      BIO_set_mem_eof_return(rbio, 0);
      return absl::OkStatus();
    }
    BIO_write(rbio, buf, static_cast<int>(*n));
    return absl::OkStatus();
  }

  // Runs `op` (SSL_connect, SSL_read, SSL_write) to completion, moving bytes
  // between the socket and the BIOs. Returns op's positive result, 0 on a
  // clean or abrupt close by the peer, or an error.
  absl::StatusOr<int> Drive(const std::function<int()>& op, absl::string_view what,
                            absl::Time deadline) {
    while (true) {
      ERR_clear_error();
      int r = op();
      int err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
      if (auto s = Flush(deadline); !s.ok()) return s;
      if (r > 0) return r;
      switch (err) {
        case SSL_ERROR_WANT_READ:
          if (peer_closed) return 0;
          if (auto s = Fill(deadline); !s.ok()) return s;
          continue;
        case SSL_ERROR_WANT_WRITE:
          continue;
        case SSL_ERROR_ZERO_RETURN:
          return 0;
        default:
          if (peer_closed && ERR_peek_error() == 0) return 0;
          if (peer_closed && err == SSL_ERROR_SSL &&
              ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            return 0;
          }
          return absl::UnavailableError(OpenSslError(what));
      }
    }
  }
};

TlsStream::TlsStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsStream::~TlsStream() = default;

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Handshake(UniqueFd fd,
                                                                const TlsClientOptions& options,
                                                                absl::Time deadline) {
  auto st = std::make_unique<State>();
  st->fd = std::move(fd);
  ERR_clear_error();
  st->ctx = SSL_CTX_new(TLS_client_method());
  if (st->ctx == nullptr) return absl::UnavailableError(OpenSslError("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(st->ctx, TLS1_2_VERSION);
  if (options.verify) {
    SSL_CTX_set_verify(st->ctx, SSL_VERIFY_PEER, nullptr);
    if (!options.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(st->ctx, options.ca_file.c_str(), nullptr) != 1) {
        return absl::UnavailableError(
            OpenSslError(absl::StrCat("cannot load CA file ", options.ca_file)));
      }
    } else if (SSL_CTX_set_default_verify_paths(st->ctx) != 1) {
      return absl::UnavailableError(OpenSslError("cannot load the system CA store"));
    }
  } else {
    SSL_CTX_set_verify(st->ctx, SSL_VERIFY_NONE, nullptr);
  }
  st->ssl = SSL_new(st->ctx);
  if (st->ssl == nullptr) return absl::UnavailableError(OpenSslError("SSL_new"));
  st->rbio = BIO_new(BIO_s_mem());
  st->wbio = BIO_new(BIO_s_mem());
  if (st->rbio == nullptr || st->wbio == nullptr) {
    BIO_free(st->rbio);
    BIO_free(st->wbio);
    return absl::UnavailableError(OpenSslError("BIO_new"));
  }
  SSL_set_bio(st->ssl, st->rbio, st->wbio);
  const bool ip = IsIpLiteral(options.host);
  // SNI carries names only (RFC 6066).
  if (!ip) SSL_set_tlsext_host_name(st->ssl, options.host.c_str());
  if (options.verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(st->ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), options.host.size());
    if (ok != 1) return absl::UnavailableError(OpenSslError("cannot set the expected host name"));
  }
  SSL* ssl = st->ssl;
  const std::string what = absl::StrCat("TLS handshake with ", options.peer);
  auto r = st->Drive([ssl] { return SSL_connect(ssl); }, what, deadline);
  if (!r.ok()) {
    long verify = SSL_get_verify_result(ssl);
    if (options.verify && verify != X509_V_OK) {
      return absl::UnavailableError(absl::StrCat(
          what, ": certificate verify failed: ", X509_verify_cert_error_string(verify)));
    }
    return r.status();
  }
  if (*r == 0)
    return absl::UnavailableError(absl::StrCat(what, ": connection closed by the server"));
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(st)));
}

absl::Status TlsStream::WriteAll(absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    SSL* ssl = state_->ssl;
    int len = static_cast<int>(std::min(data.size(), kChunk));
    const char* p = data.data();
    auto r = state_->Drive([ssl, p, len] { return SSL_write(ssl, p, len); }, "TLS write", deadline);
    if (!r.ok()) return r.status();
    if (*r == 0) return absl::UnavailableError("TLS write: connection closed by the server");
    data.remove_prefix(static_cast<size_t>(*r));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> TlsStream::Read(char* buf, size_t size, absl::Time deadline) {
  SSL* ssl = state_->ssl;
  int len = static_cast<int>(std::min(size, kChunk));
  auto r = state_->Drive([ssl, buf, len] { return SSL_read(ssl, buf, len); }, "TLS read", deadline);
  if (!r.ok()) return r.status();
  return static_cast<size_t>(*r);
}

}  // namespace steward::agent
