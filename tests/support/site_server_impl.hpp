#pragma once
// The insides of SiteServer, shared by site_server.cpp (requests and the server's life) and
// site_server_resources.cpp (what is served: the site, the depots, their validators).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/site_server.hpp"

namespace esxmirror::testing {
namespace server_detail {

// Real servers listen with 511 or more; cpp-httplib's 5 makes a client opening 16 connections at once
// lose SYNs and retry them 1 s later.
inline constexpr int kListenBacklog = 1024;

// A depot served under a path prefix ("PROD/COMP/ESX_HOST/main/").
struct Mount {
  std::string prefix;
  std::shared_ptr<const SampleDepot> depot;
};

// One servable file: a view of its bytes plus what keeps them alive (a site snapshot, or the page
// rendered with the base URL), so an edit never pulls bytes from under a transfer in progress.
struct Resource {
  std::shared_ptr<const void> owner;
  std::string_view body;
  std::string etag;          // strong: "\"<md5>\""
  std::time_t modified = 0;  // Last-Modified; strictly increases whenever the bytes change
  std::string type;
};

// What to put on the wire for one GET: bytes [first, first+length) of `body`, announced as
// `announced` bytes, of which only `send` are written before the connection is dropped (cut / lie).
struct BodyPlan {
  std::shared_ptr<const void> owner;
  std::string_view body;
  std::size_t announced = 0;
  std::size_t send = 0;
  std::int64_t flip_at = -1;  // offset within this response, or -1
  std::size_t drip_bytes_per_s = 0;
};

// The Content-Type a vendor server sends for `path`: .vib application/octet-stream, .xml text/xml, ...
std::string content_type_for(const std::string& path);

}  // namespace server_detail

struct SiteServer::Impl {
  using Mount = server_detail::Mount;
  using Resource = server_detail::Resource;
  using BodyPlan = server_detail::BodyPlan;

  mutable std::mutex mutex;  // guards everything below except the httplib server and thread
  std::shared_ptr<const SampleSite> site;
  std::map<std::string, std::shared_ptr<const Resource>> resources;  // as served (base URL filled in)
  std::map<std::string, Fault> faults;
  int latency_ms = 0;
  std::string expected_authorization;  // "Basic ...", empty when no auth is required
  std::vector<std::shared_ptr<Hit>> hits;
  std::uint64_t body_bytes = 0;
  std::string base_url;
  int port = 0;
  std::vector<Mount> mounts;
  TokenGate tokens;
  int worker_threads = 64;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  TlsIdentity tls;                             // empty cert: plain http
  std::atomic<std::size_t> tls_handshakes{0};  // ClientHellos, counted by the SSL_CTX's callback

  std::mutex edit_mutex;  // serialises edit() without holding `mutex` while user code runs
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> stopping{false};

  void rebuild_resources(bool first_time);
  void place_resource(std::map<std::string, std::shared_ptr<const Resource>>& next, const std::string& path,
                      std::string_view body, std::shared_ptr<const void> owner, bool first_time) const;
  std::vector<std::string> mount_prefixes() const;
  Mount* find_mount(const std::string& name);
  std::string mount_url(const Mount& mount) const;  // where the mount is served, with the valid token
  void give_base_url(Mount& mount);
  void handle(const httplib::Request& request, httplib::Response& response);
  bool take(const std::string& path, int Fault::*counter);
  bool pause(int ms) const;
  void send(httplib::Response& response, const std::shared_ptr<Hit>& hit, BodyPlan plan, const std::string& type);
  void send_text(httplib::Response& response, const std::shared_ptr<Hit>& hit, std::string text,
                 const std::string& type = "text/html");
};

}  // namespace esxmirror::testing
