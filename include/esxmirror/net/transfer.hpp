#pragma once
// Transfers over libcurl multi: many in flight, connection reuse, conditional GET, resume, retry.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/secrets.hpp"

namespace esxmirror::net {

struct NetworkSettings {
  std::string proxy;   // empty: libcurl honours https_proxy / http_proxy / no_proxy
  std::string cacert;  // CA bundle file; empty: the system's
  bool netrc = false;  // read credentials from ~/.netrc (or netrc_file)
  std::string netrc_file;
  std::uint64_t limit_rate = 0;  // bytes/s for the whole run, shared by transfers; 0 = none
                                 // (each transfer is capped at limit_rate / the sum of the
                                 // lanes' limits, so the total stays under it; fewer in flight
                                 // -> less used)
  long connect_timeout_s = 30;
  long low_speed_limit = 1000;  // abort a transfer slower than this many bytes/s...
  long low_speed_time_s = 60;   // ...for this many seconds (then it is retried)
  long max_redirects = 5;
  std::uint64_t max_page_bytes = 8ull << 20;  // a page larger than this is refused
  std::string user_agent;                     // "esxmirror/<version>"
  // When set and true (SIGINT/SIGTERM), the engine starts nothing new and in-flight transfers end as
  // `aborted`, their partial files resumable; run() notices within 100 ms.
  const std::atomic<bool>* stop_flag = nullptr;
  // Request URLs are in their stored form (no secrets); this puts the secrets in just before each request.
  util::Secrets secrets;
};

struct RetryPolicy {
  int max_attempts = 4;  // per request, per run
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{60000};
  // Wait before attempt `attempt` (2, 3...): base * 2^(attempt-2), at least Retry-After, at most max_delay
  // (a Retry-After beyond max_delay is cut to max_delay). 0 for attempt <= 1. Pure, no jitter.
  std::chrono::milliseconds delay(int attempt, std::optional<std::chrono::seconds> retry_after) const;
};

struct Validators {
  std::string etag;
  std::string last_modified;
};

enum class Outcome {
  ok,            // 2xx, body complete
  not_modified,  // 304 to a conditional request
  auth,          // 401 / 407 / 403: not retried
  not_found,     // 404 / 410: not retried
  http_error,    // other 4xx: not retried
  exhausted,     // timeouts, connection errors, 429, 5xx: retried max_attempts times, still failing
  refused,       // refused locally: page too large, scheme not http(s), redirect loop, local I/O error
  aborted,       // the stop flag was set before it finished
  tls,           // the server's certificate could not be verified (unknown CA, expired, wrong name) or the
                 // TLS handshake failed: not retried; the error names the host and what to do (--cacert)
  size_mismatch  // a file's body is not Request::expected_size bytes (cut as soon as it grows past it):
                 // not retried; the error names expected and received sizes; no partial is kept
};
// "ok", "not_modified", ..., "tls", "size_mismatch".
const char* to_string(Outcome o);

enum class Method {
  get,  // the body: to memory (pages) or to Request::file
  head  // status, validators, Content-Length and Content-Type only (a cheap probe); never a body
};

// A lane groups requests that share one limit of transfers in flight (pages, bundles, VIBs...). All lanes
// share one multi handle and its connection pool. Lane 0 exists from the start (the constructor's
// max_parallel); TransferEngine::add_lane makes more.
using LaneId = int;
inline constexpr LaneId kDefaultLane = 0;

struct Request {
  std::uint64_t tag = 0;   // the caller's identifier, handed back in the Response
  std::string url;         // stored form (NetworkSettings::secrets fills in the secrets)
  Validators conditional;  // sent as If-None-Match / If-Modified-Since when set
  // Empty: the body is kept in memory (pages). Otherwise the body streams to this file, hashed on the
  // way (bundles); a partial file from an earlier attempt or run is resumed with Range + If-Range when
  // its recorded validator still matches, and started over otherwise (never glued).
  // While incomplete the body lives in partial_path(file) ("<file>.part") beside its resume record
  // partial_meta_path(file) ("<file>.part.meta": masked URL, ETag, Last-Modified); only a complete
  // body is renamed to `file` (replacing any older one), and the record is removed. After a failure or
  // an abort `file` is untouched and the two partial files stay for the next run (discard_partial()
  // removes them). The parent directory is created when missing.
  std::filesystem::path file;
  LaneId lane = kDefaultLane;   // an id from add_lane(); an unknown id makes add() throw
  Method method = Method::get;  // head: `file` must be empty
  // File requests whose size is known (a depot VIB's packed-size): a body announced or growing past it is
  // cut at once, and one that ends short is not kept; either is Outcome::size_mismatch (not retried).
  std::optional<std::uint64_t> expected_size = std::nullopt;
  // Which digests a file request computes (sha256 alone for VIBs: half the hashing).
  util::StreamHasher::Algorithms digests = util::StreamHasher::Algorithms::md5_and_sha256;
  // File requests: false renames the complete body to `file` without an fsync first. The caller must make
  // it durable (util::sync_filesystem() once per batch) before trusting it after a power cut, which may
  // leave `file` short or empty (never glued to a partial: `file` is not resumed from).
  bool durable = true;
};

struct Response {
  std::uint64_t tag = 0;
  std::string url;  // as requested (mask before printing)
  Outcome outcome = Outcome::aborted;
  long status = 0;   // last HTTP status seen (0 when none)
  std::string body;  // memory requests
  std::string content_type;
  Validators validators;    // of the final response
  std::uint64_t bytes = 0;  // size of the complete body (file: whole file incl. resumed prefix)
  util::Digests digests;    // file requests: md5/sha256 of the whole file
  std::string error;        // one line, secrets masked; empty when ok / not_modified
  int attempts = 0;
  bool resumed = false;  // a Range request continued a partial file
  // Content-Length of the final response as announced (HEAD probes; for a 206 the length of the range).
  std::optional<std::uint64_t> content_length = std::nullopt;
  long http_version = 0;  // of the final response: 10, 11, 20 (HTTP/2), 30; 0 when none
};

// Counters for the report and the benchmark.
struct TransferStats {
  std::uint64_t requests = 0;     // HTTP requests sent (incl. retries)
  std::uint64_t body_bytes = 0;   // body bytes received
  std::uint64_t connections = 0;  // new connections opened (the rest reused one, or an HTTP/2 stream)
};

// Where a file request keeps its incomplete body and its resume record (see Request::file).
std::filesystem::path partial_path(const std::filesystem::path& file);
std::filesystem::path partial_meta_path(const std::filesystem::path& file);
// Removes both; no error when they do not exist.
void discard_partial(const std::filesystem::path& file);

// A Retry-After header value, delay-seconds ("120") or an HTTP-date, as a wait from `now` (never
// negative); nullopt when it is neither.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// One libcurl multi handle: every lane's transfers share its connection pool; HTTP/2 is negotiated over
// TLS (ALPN) and its streams multiplexed on one connection, HTTP/1.1 servers get one connection per
// transfer in flight. Only libcurl runs on run()'s thread: a completed file is flushed, fsynced and
// renamed on a small pool of committer threads while the other transfers go on, and reported after that.
class TransferEngine {
 public:
  // `max_parallel` is lane 0's limit of transfers in flight (at least 1).
  TransferEngine(NetworkSettings settings, RetryPolicy retry, int max_parallel);
  // Transfers still in flight end (their partials stay resumable); completed files being committed are
  // finished first. No on_done is called.
  ~TransferEngine();
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  // A new lane with its own limit of transfers in flight (at least 1); `name` is for the debug log.
  // Returns its id for Request::lane. May be called at any time, from any thread.
  LaneId add_lane(std::string name, int max_parallel);

  // Queues a request on its lane. May be called before run(), from inside on_done, or from any other
  // thread while run() runs (it wakes run() up). Throws std::invalid_argument for an unknown lane or a
  // HEAD request with a file.
  void add(Request request);

  // Runs until every queued request has finished and no Hold is held, calling on_done on this thread as
  // each finishes (a file already under its final name). on_done may add requests and may do short work;
  // long work (unpacking, verifying, database writes) belongs on another thread, as every transfer
  // waits while on_done runs: hand it over and add() any follow-up request from there (with a Hold
  // keeping run() alive meanwhile). An exception from on_done leaves run() (the engine stays usable).
  void run(const std::function<void(Response&&)>& on_done);

  // While a Hold is alive, run() does not return when it runs out of requests: it waits for add() (from
  // another thread) or for the Hold's end. A stop (NetworkSettings::stop_flag) still ends run() once everything is
  // aborted.
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept;
    Hold& operator=(Hold&& other) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold();  // releases it and wakes run() up

   private:
    friend class TransferEngine;
    explicit Hold(TransferEngine* engine) : engine_(engine) {}
    TransferEngine* engine_ = nullptr;
  };
  // A Hold on this engine; it must end before the engine does.
  [[nodiscard]] Hold hold();

  // Counters so far; safe to read from another thread while run() runs.
  TransferStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace esxmirror::net
