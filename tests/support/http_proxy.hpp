#pragma once
// A tiny forward HTTP proxy on 127.0.0.1 for tests: it takes absolute-form requests
// ("GET http://127.0.0.1:PORT/path HTTP/1.1"), forwards them with httplib::Client, and tunnels
// CONNECT requests (what a client sends for https) to loopback origins; it logs both, and can demand
// Proxy-Authorization (basic) credentials for both.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace esxmirror::testing {

struct ProxiedRequest {
  std::string method;               // GET / HEAD / CONNECT
  std::string target;               // as the client sent it: "http://127.0.0.1:PORT/path?query", "127.0.0.1:PORT"
  std::string proxy_authorization;  // the Proxy-Authorization header, as sent ("" when none)
  int status = 0;                   // what the proxy answered (407 when refused; 200 for an open tunnel)
};

class HttpProxy {
 public:
  HttpProxy();
  ~HttpProxy();  // stops
  HttpProxy(const HttpProxy&) = delete;
  HttpProxy& operator=(const HttpProxy&) = delete;

  void start();  // listens on 127.0.0.1, any free port
  void stop();
  int port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  // Requests must carry "Proxy-Authorization: Basic base64(user:password)"; others get 407 with
  // Proxy-Authenticate. "" turns it off.
  void require_credentials(const std::string& user, const std::string& password);

  std::vector<ProxiedRequest> requests() const;
  std::size_t forwarded() const;  // requests passed on to the origin (not refused), tunnels included
  std::size_t tunnels() const;    // CONNECT requests answered 200: tunnels opened
  std::size_t refused() const;    // requests answered 407
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string base64_encode(const std::string& bytes);

}  // namespace esxmirror::testing
