// One thread per connection, each polling with a short timeout so stop() is never held up by an idle
// keep-alive connection or a tunnel nobody closes.
#include "support/proxy_front.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace esxmirror::testing {

namespace {

constexpr int kPollMs = 100;
constexpr std::size_t kMaxHead = 64 * 1024;

void set_nodelay(int fd) {
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// Waits until `fd` is readable; false when stopping or on a poll error.
bool wait_readable(int fd, const std::atomic<bool>& stopping) {
  pollfd p{fd, POLLIN, 0};
  while (!stopping) {
    const int n = ::poll(&p, 1, kPollMs);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
  return false;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The bytes read up to and including the first request head's blank line, plus whatever followed in
// the same reads; nullopt when the connection closed first, the head is too long, or on stop.
std::optional<std::string> read_head(int fd, const std::atomic<bool>& stopping) {
  std::string bytes;
  char buffer[4096];
  while (bytes.find("\r\n\r\n") == std::string::npos) {
    if (bytes.size() > kMaxHead || !wait_readable(fd, stopping)) return std::nullopt;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  return bytes;
}

// A header's value in a request head ("" when absent); names compare case-insensitively.
std::string header_value(const std::string& head, const std::string& name) {
  std::size_t at = head.find("\r\n");
  while (at != std::string::npos && at + 2 < head.size()) {
    const std::size_t start = at + 2;
    const std::size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    const std::string_view line(head.data() + start, end - start);
    const std::size_t colon = line.find(':');
    if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    at = end;
  }
  return "";
}

// A connected socket to 127.0.0.1:port, or -1.
int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  set_nodelay(fd);
  return fd;
}

// The port of a CONNECT target on loopback ("127.0.0.1:8443", "localhost:8443"), or nullopt.
std::optional<int> loopback_port(const std::string& target) {
  const std::size_t colon = target.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string host = target.substr(0, colon);
  if (host != "127.0.0.1" && host != "localhost") return std::nullopt;
  try {
    const int port = std::stoi(target.substr(colon + 1));
    if (port > 0 && port < 65536) return port;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Copies bytes both ways until either side closes, fails, or stop.
void relay(int a, int b, const std::atomic<bool>& stopping) {
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buffer[64 * 1024];
  while (!stopping) {
    const int n = ::poll(fds, 2, kPollMs);
    if (n < 0 && errno != EINTR) return;
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0 || !write_all(fds[1 - i].fd, std::string_view(buffer, static_cast<std::size_t>(got)))) return;
    }
  }
}

}  // namespace

struct ProxyFront::Impl {
  int backend_port = 0;
  Handlers handlers;
  int listener = -1;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex mutex;  // guards connections
  std::vector<std::thread> connections;

  void accept_loop();
  void serve(int client);
  void tunnel(int client, const std::string& head_bytes, std::size_t head_end);
};

void ProxyFront::Impl::accept_loop() {
  while (wait_readable(listener, stopping)) {
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    set_nodelay(client);
    std::lock_guard lock(mutex);
    connections.emplace_back([this, client] { serve(client); });
  }
}

void ProxyFront::Impl::serve(int client) {
  const std::optional<std::string> bytes = read_head(client, stopping);
  if (bytes && bytes->rfind("CONNECT ", 0) == 0) {
    tunnel(client, *bytes, bytes->find("\r\n\r\n") + 4);
  } else if (bytes) {
    const int backend = connect_loopback(backend_port);
    if (backend >= 0) {
      if (write_all(backend, *bytes)) relay(client, backend, stopping);
      ::close(backend);
    }
  }
  ::close(client);
}

void ProxyFront::Impl::tunnel(int client, const std::string& bytes, std::size_t head_end) {
  const std::string head = bytes.substr(0, head_end);
  const std::size_t target_start = head.find(' ') + 1;
  ProxiedRequest entry{"CONNECT", head.substr(target_start, head.find(' ', target_start) - target_start),
                       header_value(head, "Proxy-Authorization"), 0};
  if (!handlers.authorized(entry.proxy_authorization)) {
    entry.status = 407;
    handlers.record(entry);
    write_all(client,
              "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test proxy\"\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  const std::optional<int> port = loopback_port(entry.target);
  const int origin = port ? connect_loopback(*port) : -1;
  if (origin < 0) {
    entry.status = 502;
    handlers.record(entry);
    write_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  entry.status = 200;
  handlers.record(entry);
  if (write_all(client, "HTTP/1.1 200 Connection established\r\n\r\n") &&
      write_all(origin, std::string_view(bytes).substr(head_end))) {
    relay(client, origin, stopping);
  }
  ::close(origin);
}

ProxyFront::ProxyFront(int backend_port, Handlers handlers) : impl_(std::make_unique<Impl>()) {
  impl_->backend_port = backend_port;
  impl_->handlers = std::move(handlers);
}

ProxyFront::~ProxyFront() { stop(); }

int ProxyFront::start() {
  if (impl_->listener >= 0) throw std::logic_error("ProxyFront::start: already running");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 1024) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("ProxyFront: cannot listen on 127.0.0.1: " + why);
  }
  impl_->listener = fd;
  impl_->stopping = false;
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
  return ntohs(address.sin_port);
}

void ProxyFront::stop() {
  impl_->stopping = true;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(impl_->mutex);
    connections.swap(impl_->connections);
  }
  for (std::thread& connection : connections) connection.join();
  if (impl_->listener >= 0) ::close(impl_->listener);
  impl_->listener = -1;
}

}  // namespace esxmirror::testing
