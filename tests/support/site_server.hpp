#pragma once
// Serves a SampleSite on 127.0.0.1 (cpp-httplib, its own thread) with HTTP validators, ranges and
// per-path fault injection, and logs every request so tests can assert what was fetched.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/sample_site.hpp"

namespace esxmirror::testing {

// What to do wrong on one path. Counters (`*_times`) are consumed per request; 0 = never, -1 = always.
// Order: delay, auth, redirect, status, serve_html, then the real answer (304/416/200/206) whose body the
// remaining faults spoil. cut/flip are only used up by GET answers that carry the affected bytes, so a
// HEAD probe leaves them armed. cut_after_bytes counts bytes of this response; flip_offset is a file offset.
struct Fault {
  std::size_t cut_after_bytes = 0; int cut_times = 0;     // close the connection after N body bytes
  int status = 0; int status_times = 0;                   // answer this status instead
  int retry_after_s = -1;                                 // with Retry-After when >= 0
  int delay_ms = 0;                                       // before answering
  std::int64_t flip_offset = -1; int flip_times = 0;      // serve the body with this byte inverted
  std::string redirect_to; int redirect_times = -1;       // 302 to this path (relative to root) or URL
  bool serve_html = false;                                // 200 text/html "captive portal" page instead
  std::size_t drip_bytes_per_s = 0;                       // send the body this slowly
  std::int64_t content_length_delta = 0;                  // announce length + delta, send real bytes
};

struct Hit {
  std::string method;                 // GET / HEAD
  std::string path;                   // without leading '/', query stripped
  int status = 0;
  std::size_t body_bytes = 0;         // body bytes sent
  std::string range, if_range, if_none_match, if_modified_since, user_agent, authorization;
};

class SiteServer {
 public:
  // `latency_ms` is added before every answer.
  explicit SiteServer(SampleSite site, int latency_ms = 0);
  ~SiteServer();  // stops
  SiteServer(const SiteServer&) = delete;
  SiteServer& operator=(const SiteServer&) = delete;

  void start(const std::string& host = "127.0.0.1", int port = 0);  // port 0: any free port
  void stop();
  int port() const;
  std::string base_url() const;                      // "http://127.0.0.1:PORT/"
  std::string url(const std::string& path) const;    // base_url() + path
  std::string index_url() const { return url(SampleSite::index_path()); }

  // Change the site while serving (new content gets a new ETag and Last-Modified).
  void edit(const std::function<void(SampleSite&)>& change);
  SampleSite site() const;                           // a copy, for expectations
  void set_fault(const std::string& path, const Fault& fault);
  void clear_faults();
  void set_latency_ms(int ms);
  // Basic auth required for every path when set ("user:password"); "" turns it off. 401 + WWW-Authenticate.
  void require_auth(const std::string& user_password);

  std::vector<Hit> hits() const;
  std::size_t count(const std::string& path) const;          // requests to path
  std::size_t body_count(const std::string& path) const;     // GET requests answered 200/206 (with a body)
  std::uint64_t body_bytes() const;                          // all body bytes sent (error pages too)
  void reset_hits();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace esxmirror::testing
