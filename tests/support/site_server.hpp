#pragma once
// Serves a SampleSite, and SampleDepots under their vendor paths behind a download token, on 127.0.0.1
// (cpp-httplib, its own threads) over http or https, with HTTP validators, ranges and per-path fault
// injection, and logs every request so tests can assert what was fetched.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/depot_tokens.hpp"
#include "support/sample_depot.hpp"
#include "support/sample_site.hpp"
#include "support/test_ca.hpp"

namespace esxmirror::testing {

// What to do wrong on one path. Counters (`*_times`) are consumed per request; 0 = never, -1 = always.
// Order: delay, auth, redirect, status, serve_html, then the real answer (304/416/200/206) whose body the
// remaining faults spoil. cut/flip are only used up by GET answers that carry the affected bytes, so a
// HEAD probe leaves them armed. cut_after_bytes counts bytes of this response; flip_offset is a file offset.
struct Fault {
  std::size_t cut_after_bytes = 0;
  int cut_times = 0;  // close the connection after N body bytes
  int status = 0;
  int status_times = 0;    // answer this status instead
  int retry_after_s = -1;  // with Retry-After when >= 0
  int delay_ms = 0;        // before answering
  std::int64_t flip_offset = -1;
  int flip_times = 0;  // serve the body with this byte inverted
  std::string redirect_to;
  int redirect_times = -1;                // 302 to this path (relative to root) or URL
  bool serve_html = false;                // 200 text/html "captive portal" page instead
  std::size_t drip_bytes_per_s = 0;       // send the body this slowly
  std::int64_t content_length_delta = 0;  // announce length + delta, send real bytes
};

struct Hit {
  std::string method;  // GET / HEAD
  std::string path;    // without leading '/', query stripped; a depot path without its token
  int status = 0;
  std::size_t body_bytes = 0;  // body bytes sent
  std::string range, if_range, if_none_match, if_modified_since, user_agent, authorization;
  std::string token;       // depot requests: "valid", "expired", "invalid", "missing", "not-entitled"
  double received_ms = 0;  // when the request was read, in ms since start()
};

class SiteServer {
 public:
  // `latency_ms` is added before every answer.
  explicit SiteServer(SampleSite site, int latency_ms = 0);
  // A server for one depot (and no legacy site), mounted as add_depot(depot) does.
  explicit SiteServer(SampleDepot depot, int latency_ms = 0);
  ~SiteServer();  // stops
  SiteServer(const SiteServer&) = delete;
  SiteServer& operator=(const SiteServer&) = delete;

  // Listens with TCP_NODELAY, a backlog of 1024 and `worker_threads()` workers, so the server is never
  // what a benchmark measures (cpp-httplib's defaults, 5 and Nagle, add 1 s and 40 ms stalls).
  void start(const std::string& host = "127.0.0.1", int port = 0);  // port 0: any free port
  void stop();
  int port() const;
  std::string base_url() const;                    // "http://127.0.0.1:PORT/" ("https://" with TLS)
  std::string url(const std::string& path) const;  // base_url() + path
  std::string index_url() const { return url(SampleSite::index_path()); }

  // Change the site while serving (new content gets a new ETag and Last-Modified).
  void edit(const std::function<void(SampleSite&)>& change);
  SampleSite site() const;  // a copy, for expectations
  void set_fault(const std::string& path, const Fault& fault);
  void clear_faults();
  void set_latency_ms(int ms);
  // Basic auth required for every path when set ("user:password"); "" turns it off. 401 + WWW-Authenticate.
  void require_auth(const std::string& user_password);

  // From the next start() on, serve https presenting this certificate (cpp-httplib's SSLServer); an
  // identity with an empty cert path turns TLS off again. start() throws when the files do not load.
  void use_tls(const TlsIdentity& identity);
  // TLS handshakes begun (ClientHellos received) since start() or reset_hits(), whether they completed
  // or not: one per connection a client opened. 0 over plain http.
  std::size_t tls_handshakes() const;

  // Workers answering requests (each keep-alive connection holds one); set before start(). Default 64.
  void set_worker_threads(int count);

  // Serves `depot` under `mount` (default "PROD/COMP/ESX_HOST/<depot.name()>/"), behind the token when
  // set_depot_tokens gave one: "<token>/<mount><path>". A depot with absolute VIB URLs gets its served URL.
  void add_depot(SampleDepot depot, const std::string& mount = "");
  // Change a depot while serving, as edit() does for the site.
  void edit_depot(const std::string& name, const std::function<void(SampleDepot&)>& change);
  SampleDepot depot(const std::string& name = "main") const;  // a copy, for expectations
  // Token behaviour of every depot (see depot_tokens.hpp). Without a valid token, depots are served
  // directly under their mount.
  void set_depot_tokens(const DepotTokens& tokens);
  // The URL of a depot file with the valid token in it ("" token: none): what a configured client fetches.
  std::string depot_url(const std::string& name = "main", const std::string& path = SampleDepot::index_path()) const;
  // The same with "{token}" where the token goes: what `esxmirror sync --source` is given.
  std::string depot_url_template(const std::string& name = "main") const;
  // A depot file's path as requests are logged and faults are keyed: "<mount><path>", never the token.
  std::string depot_path(const std::string& name, const std::string& path) const;

  std::vector<Hit> hits() const;
  std::size_t count(const std::string& path) const;       // requests to path
  std::size_t body_count(const std::string& path) const;  // GET requests answered 200/206 (with a body)
  std::uint64_t body_bytes() const;                       // all body bytes sent (error pages too)
  void reset_hits();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace esxmirror::testing
