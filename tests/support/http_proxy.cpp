#include "support/http_proxy.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "support/proxy_front.hpp"

namespace esxmirror::testing {

namespace {

bool iequals(const std::string& a, const char* b) {
  return a.size() == std::char_traits<char>::length(b) && std::equal(a.begin(), a.end(), b, [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones httplib sets itself: never passed on.
bool hop_by_hop(const std::string& name) {
  for (const char* h : {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
                        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i + 2 < bytes.size()) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
    i += 3;
  }
  if (i + 1 == bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

struct HttpProxy::Impl {
  mutable std::mutex mutex;
  std::vector<ProxiedRequest> log;
  std::string expected_authorization;       // "Basic ..." or "" for none
  std::unique_ptr<httplib::Server> server;  // forwards absolute-form requests, behind the front
  std::thread thread;
  std::unique_ptr<ProxyFront> front;  // where clients connect: tunnels CONNECTs, relays the rest
  int port = 0;

  void handle(const httplib::Request& request, httplib::Response& response);
  bool authorized(const std::string& proxy_authorization) const;
  void record(const ProxiedRequest& entry);
};

bool HttpProxy::Impl::authorized(const std::string& proxy_authorization) const {
  std::lock_guard lock(mutex);
  return expected_authorization.empty() || proxy_authorization == expected_authorization;
}

void HttpProxy::Impl::record(const ProxiedRequest& entry) {
  std::lock_guard lock(mutex);
  log.push_back(entry);
}

void HttpProxy::Impl::handle(const httplib::Request& request, httplib::Response& response) {
  // httplib pre-parses Range and would slice the origin's (already partial) body once more.
  const_cast<httplib::Request&>(request).ranges.clear();
  ProxiedRequest entry{request.method, request.target, request.get_header_value("Proxy-Authorization"), 0};
  auto log_as = [&](int status) {
    entry.status = status;
    record(entry);
  };

  if (!authorized(entry.proxy_authorization)) {
    response.status = 407;
    response.set_header("Proxy-Authenticate", "Basic realm=\"test proxy\"");
    response.set_content("proxy authentication required\n", "text/plain");
    log_as(407);
    return;
  }
  const std::string prefix = "http://";
  if (request.target.rfind(prefix, 0) != 0 || (request.method != "GET" && request.method != "HEAD")) {
    response.status = 501;  // origin-form requests, other methods: not a forward request this proxy does
    response.set_content("only absolute-form GET/HEAD http:// requests are proxied\n", "text/plain");
    log_as(501);
    return;
  }
  std::string rest = request.target.substr(prefix.size());
  std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = authority;
  int origin_port = 80;
  if (std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    origin_port = std::stoi(authority.substr(colon + 1));
  }

  httplib::Headers headers;
  for (const auto& [name, value] : request.headers) {
    if (!hop_by_hop(name) && !iequals(name, "REMOTE_ADDR") && !iequals(name, "REMOTE_PORT") &&
        !iequals(name, "LOCAL_ADDR") && !iequals(name, "LOCAL_PORT")) {
      headers.emplace(name, value);
    }
  }
  // Bodies pass through byte for byte: no compression on the way.
  headers.emplace("Accept-Encoding", "identity");
  httplib::Client client(host, origin_port);
  client.set_url_encode(false);
  client.set_keep_alive(false);
  client.set_follow_location(false);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);
  httplib::Result result =
      request.method == "HEAD" ? client.Head(path.c_str(), headers) : client.Get(path.c_str(), headers);
  if (!result) {
    response.status = 502;
    response.set_content("bad gateway: " + httplib::to_string(result.error()) + "\n", "text/plain");
    log_as(502);
    return;
  }
  response.status = result->status;
  std::string content_type;
  for (const auto& [name, value] : result->headers) {
    if (iequals(name, "Content-Type")) {
      content_type = value;
    } else if (!hop_by_hop(name)) {
      response.set_header(name, value);
    }
  }
  auto body = std::make_shared<const std::string>(std::move(result->body));
  if (!body->empty()) {
    // A fixed-length provider: httplib neither compresses nor slices it.
    response.set_content_provider(body->size(), content_type,
                                  [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                    return sink.write(body->data() + offset, std::min(length, body->size() - offset));
                                  });
  } else if (!content_type.empty()) {
    response.set_header("Content-Type", content_type);
  }
  log_as(result->status);
}

HttpProxy::HttpProxy() : impl_(std::make_unique<Impl>()) {}

HttpProxy::~HttpProxy() { stop(); }

void HttpProxy::start() {
  if (impl_->server) throw std::logic_error("HttpProxy::start: already running");
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(64); };
  server->set_keep_alive_max_count(1000);
  server->set_keep_alive_timeout(1);
  server->set_tcp_nodelay(true);  // behind the front, Nagle would hold each body behind its headers
  Impl* impl = impl_.get();
  server->set_pre_routing_handler([impl](const httplib::Request& request, httplib::Response& response) {
    impl->handle(request, response);
    return httplib::Server::HandlerResponse::Handled;
  });
  int bound = server->bind_to_any_port("127.0.0.1");
  if (bound <= 0) throw std::runtime_error("HttpProxy: cannot listen on 127.0.0.1");
  httplib::Server* raw = server.get();
  impl_->thread = std::thread([raw] { raw->listen_after_bind(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!raw->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      impl_->thread.join();
      throw std::runtime_error("HttpProxy: the server thread did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->server = std::move(server);
  impl_->front = std::make_unique<ProxyFront>(
      bound, ProxyFront::Handlers{[impl](const std::string& authorization) { return impl->authorized(authorization); },
                                  [impl](const ProxiedRequest& entry) { impl->record(entry); }});
  impl_->port = impl_->front->start();
}

void HttpProxy::stop() {
  if (impl_->front) impl_->front->stop();
  impl_->front.reset();
  if (impl_->server) impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
}

int HttpProxy::port() const { return impl_->port; }

std::string HttpProxy::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void HttpProxy::require_credentials(const std::string& user, const std::string& password) {
  std::lock_guard lock(impl_->mutex);
  impl_->expected_authorization = user.empty() ? "" : "Basic " + base64_encode(user + ":" + password);
}

std::vector<ProxiedRequest> HttpProxy::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t HttpProxy::forwarded() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const ProxiedRequest& r : impl_->log) {
    if (r.status != 407 && r.status != 501 && r.status != 502) ++n;
  }
  return n;
}

std::size_t HttpProxy::tunnels() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(std::count_if(impl_->log.begin(), impl_->log.end(), [](const ProxiedRequest& r) {
    return r.method == "CONNECT" && r.status == 200;
  }));
}

std::size_t HttpProxy::refused() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const ProxiedRequest& r : impl_->log) {
    if (r.status == 407) ++n;
  }
  return n;
}

void HttpProxy::reset() {
  std::lock_guard lock(impl_->mutex);
  impl_->log.clear();
}

}  // namespace esxmirror::testing
