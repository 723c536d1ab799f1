#include "tests/agent/health/local_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace steward::agent::testing {

std::string HttpReply(const std::string& status, const std::string& body) {
  return absl::StrCat("HTTP/1.1 ", status,
                      "\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(),
                      "\r\nConnection: close\r\n\r\n", body);
}

LocalServer::LocalServer(Handler handler, std::optional<KeyAndCert> tls)
    : handler_(std::move(handler)), tls_(std::move(tls)) {
  // Writing to a client that gave up must not kill the test.
  signal(SIGPIPE, SIG_IGN);
  if (tls_) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    BIO* kb = BIO_new_mem_buf(tls_->key_pem.data(), static_cast<int>(tls_->key_pem.size()));
    BIO* cb = BIO_new_mem_buf(tls_->cert_pem.data(), static_cast<int>(tls_->cert_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    EXPECT_NE(key, nullptr);
    EXPECT_NE(cert, nullptr);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(kb);
    BIO_free(cb);
    ssl_ctx_ = ctx;
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(listen_fd_, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

LocalServer::~LocalServer() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string LocalServer::last_request() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_request_;
}

void LocalServer::Serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    timeval tv{0, 500000};  // A client that sends no request head...
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    HandleOne(fd);
    close(fd);
  }
}

void LocalServer::HandleOne(int fd) {
  SSL* ssl = nullptr;
  if (ssl_ctx_ != nullptr) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {  // E.g. the client refused the certificate.
      ERR_clear_error();
      SSL_free(ssl);
      return;
    }
  }
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    int n = ssl != nullptr ? SSL_read(ssl, buf, sizeof buf)
                           : static_cast<int>(recv(fd, buf, sizeof buf, 0));
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_request_ = request;
  }
  Reply reply = handler_(request);
  if (reply.delay > absl::ZeroDuration()) absl::SleepFor(reply.delay);
  if (!reply.bytes.empty()) {
    if (ssl != nullptr) {
      SSL_write(ssl, reply.bytes.data(), static_cast<int>(reply.bytes.size()));
    } else {
      send(fd, reply.bytes.data(), reply.bytes.size(), MSG_NOSIGNAL);
    }
  }
  if (ssl != nullptr) {
    SSL_shutdown(ssl);
    ERR_clear_error();
    SSL_free(ssl);
  }
}

}  // namespace steward::agent::testing
