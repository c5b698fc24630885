#pragma once
// The socket side of the tests' HTTP proxy: a listener on 127.0.0.1 that reads the first request head
// of each connection. A CONNECT gets a tunnel to the loopback origin it names (bytes both ways, so TLS
// passes through untouched, as through a real proxy); any other request is relayed byte for byte, with
// the rest of its connection, to the forwarding proxy behind (HttpProxy's cpp-httplib server).
#include <functional>
#include <memory>
#include <string>

#include "support/http_proxy.hpp"

namespace esxmirror::testing {

class ProxyFront {
 public:
  struct Handlers {
    // Whether a CONNECT carrying this Proxy-Authorization header ("" when none) may open a tunnel.
    std::function<bool(const std::string& proxy_authorization)> authorized;
    // Called once per CONNECT with what it was answered (200, 407, or 502 when the origin is unreachable
    // or not on loopback).
    std::function<void(const ProxiedRequest&)> record;
  };

  // Relays non-CONNECT connections to 127.0.0.1:`backend_port`.
  ProxyFront(int backend_port, Handlers handlers);
  ~ProxyFront();  // stops
  ProxyFront(const ProxyFront&) = delete;
  ProxyFront& operator=(const ProxyFront&) = delete;

  // Listens on 127.0.0.1, any free port, and returns it; throws std::runtime_error when it cannot.
  int start();
  // Closes the listener and every connection and tunnel (within ~100 ms), joining their threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace esxmirror::testing
