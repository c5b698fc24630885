// Serves a SampleSite and SampleDepots over loopback HTTP: strong ETags, Last-Modified, conditional GET,
// single byte ranges with If-Range, optional basic auth, the depot download token, and the per-path
// faults a real vendor site and its networks produce. Every request is logged (depot paths without the
// token) so tests can assert what the client actually fetched.
#include "support/site_server.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/http_semantics.hpp"
#include "support/site_server_impl.hpp"

namespace esxmirror::testing {
namespace {

using namespace std::chrono_literals;
using server_detail::BodyPlan;
using server_detail::content_type_for;
using server_detail::kListenBacklog;
using server_detail::Mount;
using server_detail::Resource;

constexpr std::size_t kWriteChunk = 64 * 1024;

std::string small_page(const std::string& title, const std::string& text) {
  return "<html><head><title>" + title + "</title></head><body><h1>" + title + "</h1><p>" + text +
         "</p></body></html>\n";
}

std::string base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

// Counts every ClientHello: a handshake begun, whether the client then accepts the certificate or not.
int count_client_hello(SSL*, int*, void* counter) {
  ++*static_cast<std::atomic<std::size_t>*>(counter);
  return SSL_CLIENT_HELLO_SUCCESS;
}

// A plain server, or an https one presenting `tls` whose handshakes are counted into `handshakes`.
std::unique_ptr<httplib::Server> make_server(const TlsIdentity& tls, std::atomic<std::size_t>& handshakes) {
  if (tls.cert.empty()) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(tls.cert.c_str(), tls.key.c_str());
  if (!server->is_valid()) {
    throw std::runtime_error("SiteServer: cannot load the certificate " + tls.cert.string() + " or its key " +
                             tls.key.string());
  }
  SSL_CTX_set_client_hello_cb(server->ssl_context(), &count_client_hello, &handshakes);
  return server;
}

}  // namespace

// Consumes one use of a counted fault: 0 = inactive, -1 = always, N > 0 = N more times.
bool SiteServer::Impl::take(const std::string& path, int Fault::*counter) {
  std::lock_guard lock(mutex);
  const auto found = faults.find(path);
  if (found == faults.end()) return false;
  int& left = found->second.*counter;
  if (left == 0) return false;
  if (left > 0) --left;
  return true;
}

// Sleeps in small steps so stop() is never held up by a delay; false when stopping.
bool SiteServer::Impl::pause(int ms) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stopping) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(10ms, until - std::chrono::steady_clock::now()));
  }
  return !stopping;
}

// Bodies always go through a fixed-length content provider: httplib then neither compresses nor
// slices them, and the provider can cut, flip, drip or under-deliver on purpose.
void SiteServer::Impl::send(httplib::Response& response, const std::shared_ptr<Hit>& hit, BodyPlan plan,
                            const std::string& type) {
  if (plan.announced == 0) {
    response.set_content("", type);
    return;
  }
  response.set_content_provider(plan.announced, type,
                                [this, hit, plan](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                  if (offset >= plan.send || stopping)
                                    return false;  // drop the connection: the body stays short
                                  std::size_t chunk = std::min(kWriteChunk, plan.send - offset);
                                  if (plan.drip_bytes_per_s > 0) {
                                    chunk = std::min(chunk, std::max<std::size_t>(1, plan.drip_bytes_per_s / 10));
                                    if (!pause(static_cast<int>(chunk * 1000 / plan.drip_bytes_per_s))) return false;
                                  }
                                  std::string_view piece = plan.body.substr(offset, chunk);
                                  std::string flipped;
                                  if (plan.flip_at >= static_cast<std::int64_t>(offset) &&
                                      plan.flip_at < static_cast<std::int64_t>(offset + chunk)) {
                                    flipped.assign(piece);
                                    flipped[static_cast<std::size_t>(plan.flip_at) - offset] ^= static_cast<char>(0xff);
                                    piece = flipped;
                                  }
                                  {
                                    // Counted before writing, so a client that has read everything never sees stale
                                    // counters.
                                    std::lock_guard lock(mutex);
                                    hit->body_bytes += piece.size();
                                    body_bytes += piece.size();
                                  }
                                  return sink.write(piece.data(), piece.size());
                                });
}

void SiteServer::Impl::send_text(httplib::Response& response, const std::shared_ptr<Hit>& hit, std::string text,
                                 const std::string& type) {
  auto owner = std::make_shared<const std::string>(std::move(text));
  BodyPlan plan;
  plan.body = *owner;
  plan.owner = owner;
  plan.announced = plan.send = owner->size();
  send(response, hit, plan, type);
}

void SiteServer::Impl::handle(const httplib::Request& request, httplib::Response& response) {
  // httplib pre-parses Range and would slice bodies on its own; ranges and If-Range are decided below.
  const_cast<httplib::Request&>(request).ranges.clear();

  auto hit = std::make_shared<Hit>();
  hit->method = request.method;
  const std::string requested = request.path.substr(request.path.rfind('/', 0) == 0 ? 1 : 0);
  hit->range = request.get_header_value("Range");
  hit->if_range = request.get_header_value("If-Range");
  hit->if_none_match = request.get_header_value("If-None-Match");
  hit->if_modified_since = request.get_header_value("If-Modified-Since");
  hit->user_agent = request.get_header_value("User-Agent");
  hit->authorization = request.get_header_value("Authorization");
  const std::string& path = hit->path;
  const bool is_get = request.method == "GET";

  Fault fault;
  int latency = 0;
  std::string auth, base;
  std::shared_ptr<const Resource> resource;
  TokenVerdict verdict = TokenVerdict::not_depot;
  {
    std::lock_guard lock(mutex);
    // The token is judged and cut out of the path before anything is logged or looked up.
    const TokenGate::Decision decision = tokens.judge(requested, mount_prefixes());
    verdict = decision.verdict;
    hit->path = decision.path;
    hit->token = verdict_name(verdict);
    hit->received_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    hits.push_back(hit);
    latency = latency_ms;
    if (const auto found = faults.find(path); found != faults.end()) fault = found->second;
    auth = expected_authorization;
    base = base_url;
    if (const auto found = resources.find(path); found != resources.end()) resource = found->second;
  }
  auto answer = [&](int status) {
    response.status = status;
    std::lock_guard lock(mutex);
    hit->status = status;
  };

  if (!pause(latency + fault.delay_ms)) return answer(503);

  if (!auth.empty()) {
    const std::string given = request.get_header_value("Authorization");
    const bool basic = given.size() > 6 && strncasecmp(given.c_str(), "Basic ", 6) == 0;  // scheme is case-insensitive
    if (!basic || given.substr(6) != auth.substr(6)) {
      response.set_header("WWW-Authenticate", "Basic realm=\"VMware Downloads\"");
      answer(401);
      return send_text(response, hit, small_page("401 Authorization Required", "Log in to download patches."));
    }
  }

  // As the vendor answers: an expired token 401; an invalid, missing or not yet entitled one 403.
  if (verdict == TokenVerdict::expired) {
    answer(401);
    return send_text(response, hit, small_page("401 Unauthorized", "The download token has expired."));
  }
  if (verdict == TokenVerdict::invalid || verdict == TokenVerdict::missing || verdict == TokenVerdict::not_entitled) {
    answer(403);
    return send_text(response, hit, small_page("403 Forbidden", "Access to this content is denied."));
  }

  if (!fault.redirect_to.empty() && take(path, &Fault::redirect_times)) {
    const bool is_url = fault.redirect_to.rfind("http://", 0) == 0 || fault.redirect_to.rfind("https://", 0) == 0;
    const std::string target = fault.redirect_to.substr(!is_url && fault.redirect_to.rfind('/', 0) == 0 ? 1 : 0);
    response.set_header("Location", is_url ? target : base + target);
    answer(302);
    return send_text(response, hit, small_page("302 Found", "The document has moved."));
  }

  if (fault.status != 0 && take(path, &Fault::status_times)) {
    if (fault.retry_after_s >= 0) response.set_header("Retry-After", std::to_string(fault.retry_after_s));
    answer(fault.status);
    const std::string title = "Error " + std::to_string(fault.status);
    return send_text(response, hit, small_page(title, "Injected by the test."));
  }

  if (fault.serve_html) {
    answer(200);
    return send_text(response, hit,
                     small_page("Network Login", "Please accept the terms of use to access the Internet."));
  }

  if (!resource) {
    answer(404);
    return send_text(response, hit, small_page("404 Not Found", "The requested URL /" + path + " was not found."));
  }

  response.set_header("ETag", resource->etag);
  response.set_header("Last-Modified", http::date(resource->modified));
  response.set_header("Accept-Ranges", "bytes");

  // RFC 7232 §6: If-None-Match wins over If-Modified-Since.
  if (!hit->if_none_match.empty()) {
    if (http::none_match_hits(hit->if_none_match, resource->etag)) return answer(304);
  } else if (!hit->if_modified_since.empty()) {
    const auto since = http::parse_date(hit->if_modified_since);
    if (since && resource->modified <= *since) return answer(304);
  }

  const std::size_t size = resource->body.size();
  http::ByteRange range;
  const bool range_applies =
      hit->if_range.empty() || http::if_range_holds(hit->if_range, resource->etag, resource->modified);
  if (!hit->range.empty() && range_applies) range = http::parse_range(hit->range, size);
  if (range.kind == http::ByteRange::Kind::unsatisfiable) {
    response.set_header("Content-Range", "bytes */" + std::to_string(size));
    return answer(416);
  }
  if (range.kind == http::ByteRange::Kind::none) range.length = size;
  if (range.kind == http::ByteRange::Kind::single) {
    response.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                             std::to_string(range.first + range.length - 1) + "/" +
                                             std::to_string(size));
  }
  answer(range.kind == http::ByteRange::Kind::single ? 206 : 200);

  BodyPlan plan;
  plan.owner = resource->owner;
  plan.body = resource->body.substr(range.first, range.length);
  const std::int64_t announced = static_cast<std::int64_t>(range.length) + fault.content_length_delta;
  plan.announced = static_cast<std::size_t>(std::max<std::int64_t>(0, announced));
  plan.send = std::min(range.length, plan.announced);
  plan.drip_bytes_per_s = fault.drip_bytes_per_s;
  // Body faults are only used up by answers that carry a body (a HEAD probe leaves them armed).
  if (is_get && range.length > 0) {
    const std::int64_t flip = fault.flip_offset - static_cast<std::int64_t>(range.first);  // in this response
    const bool flip_here = fault.flip_offset >= 0 && flip >= 0 && flip < static_cast<std::int64_t>(range.length);
    if (flip_here && take(path, &Fault::flip_times)) plan.flip_at = flip;
    if (take(path, &Fault::cut_times)) plan.send = std::min(plan.send, fault.cut_after_bytes);
  }
  send(response, hit, plan, resource->type);
}

SiteServer::SiteServer(SampleSite site, int latency_ms) : impl_(std::make_unique<Impl>()) {
  impl_->site = std::make_shared<const SampleSite>(std::move(site));
  impl_->latency_ms = latency_ms;
}

SiteServer::SiteServer(SampleDepot depot, int latency_ms) : SiteServer(SampleSite(), latency_ms) {
  add_depot(std::move(depot));
}

SiteServer::~SiteServer() { stop(); }

void SiteServer::start(const std::string& host, int port) {
  if (impl_->server)
    throw std::logic_error("SiteServer::start: already running on port " + std::to_string(this->port()));
  TlsIdentity tls;
  {
    std::lock_guard lock(impl_->mutex);
    tls = impl_->tls;
  }
  std::unique_ptr<httplib::Server> server = make_server(tls, impl_->tls_handshakes);
  // Many parallel transfers, each holding a keep-alive connection, need many workers.
  const auto workers = static_cast<std::size_t>(std::max(1, impl_->worker_threads));
  server->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  // Nagle would hold every answer on a reused connection for the client's delayed ACK (~40 ms), since
  // httplib writes headers and body separately; Linux copies TCP_NODELAY to every accepted socket.
  server->set_tcp_nodelay(true);
  // Debian's cpp-httplib is a compiled library: its backlog of 5 cannot be changed by a macro, so the
  // listening socket is remembered here and listen() called again (which only updates the backlog).
  auto listening = std::make_shared<int>(-1);
  server->set_socket_options([listening](socket_t sock) {
    httplib::default_socket_options(sock);
    if (*listening < 0) *listening = sock;
  });
  server->set_keep_alive_max_count(1000);
  server->set_keep_alive_timeout(1);  // idle connections are only noticed when this expires: keeps stop() fast
  server->set_write_timeout(30, 0);   // a rate-limited client may leave the socket full for a while
  Impl* impl = impl_.get();
  server->Get(
      ".*", [impl](const httplib::Request& request, httplib::Response& response) { impl->handle(request, response); });

  const int bound = port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error("SiteServer: cannot listen on " + host + ":" + std::to_string(port) +
                             " (address in use?)");
  if (*listening < 0 || ::listen(*listening, kListenBacklog) != 0)
    throw std::runtime_error("SiteServer: cannot widen the listen backlog: " + std::string(std::strerror(errno)));
  {
    std::lock_guard lock(impl_->mutex);
    impl_->port = bound;
    const std::string scheme = tls.cert.empty() ? "http://" : "https://";
    impl_->base_url = scheme + host + ":" + std::to_string(bound) + "/";
    impl_->started = std::chrono::steady_clock::now();
    impl_->tls_handshakes = 0;
    for (Mount& mount : impl_->mounts) impl_->give_base_url(mount);
    impl_->rebuild_resources(true);
  }
  impl_->stopping = false;
  httplib::Server* raw = server.get();
  impl_->thread = std::thread([raw] { raw->listen_after_bind(); });
  // The socket already accepts connections; wait for the accept loop too, since httplib's stop()
  // does nothing before it runs.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!raw->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      impl_->thread.join();
      throw std::runtime_error("SiteServer: the server thread did not start");
    }
    std::this_thread::sleep_for(1ms);
  }
  impl_->server = std::move(server);
}

void SiteServer::stop() {
  impl_->stopping = true;
  if (impl_->server) impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
}

int SiteServer::port() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->port;
}

std::string SiteServer::base_url() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->base_url;
}

std::string SiteServer::url(const std::string& path) const {
  return base_url() + path.substr(path.rfind('/', 0) == 0 ? 1 : 0);
}

void SiteServer::edit(const std::function<void(SampleSite&)>& change) {
  std::lock_guard serialise(impl_->edit_mutex);
  SampleSite next = site();
  change(next);  // user code runs without the server lock: requests keep being answered meanwhile
  std::lock_guard lock(impl_->mutex);
  impl_->site = std::make_shared<const SampleSite>(std::move(next));
  if (!impl_->base_url.empty()) impl_->rebuild_resources(false);
}

SampleSite SiteServer::site() const {
  std::lock_guard lock(impl_->mutex);
  return *impl_->site;
}

void SiteServer::set_fault(const std::string& path, const Fault& fault) {
  std::lock_guard lock(impl_->mutex);
  impl_->faults[path.substr(path.rfind('/', 0) == 0 ? 1 : 0)] = fault;
}

void SiteServer::clear_faults() {
  std::lock_guard lock(impl_->mutex);
  impl_->faults.clear();
}

void SiteServer::use_tls(const TlsIdentity& identity) {
  std::lock_guard lock(impl_->mutex);
  impl_->tls = identity;
}

std::size_t SiteServer::tls_handshakes() const { return impl_->tls_handshakes; }

void SiteServer::set_latency_ms(int ms) {
  std::lock_guard lock(impl_->mutex);
  impl_->latency_ms = ms;
}

void SiteServer::require_auth(const std::string& user_password) {
  std::lock_guard lock(impl_->mutex);
  impl_->expected_authorization = user_password.empty() ? "" : "Basic " + base64(user_password);
}

std::vector<Hit> SiteServer::hits() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<Hit> out;
  out.reserve(impl_->hits.size());
  for (const auto& hit : impl_->hits) out.push_back(*hit);
  return out;
}

std::size_t SiteServer::count(const std::string& path_in) const {
  const std::string path = path_in.substr(path_in.rfind('/', 0) == 0 ? 1 : 0);
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->hits.begin(), impl_->hits.end(), [&](const auto& hit) { return hit->path == path; }));
}

std::size_t SiteServer::body_count(const std::string& path_in) const {
  const std::string path = path_in.substr(path_in.rfind('/', 0) == 0 ? 1 : 0);
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(std::count_if(impl_->hits.begin(), impl_->hits.end(), [&](const auto& hit) {
    return hit->path == path && hit->method == "GET" && (hit->status == 200 || hit->status == 206);
  }));
}

std::uint64_t SiteServer::body_bytes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->body_bytes;
}

void SiteServer::reset_hits() {
  std::lock_guard lock(impl_->mutex);
  impl_->hits.clear();
  impl_->body_bytes = 0;
  impl_->tls_handshakes = 0;
}

}  // namespace esxmirror::testing
