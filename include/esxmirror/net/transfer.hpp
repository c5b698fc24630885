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
  std::string proxy;                     // empty: libcurl honours https_proxy / http_proxy / no_proxy
  std::string cacert;                    // CA bundle file; empty: the system's
  bool netrc = false;                    // read credentials from ~/.netrc (or netrc_file)
  std::string netrc_file;
  std::uint64_t limit_rate = 0;          // bytes/s for the whole run, shared by transfers; 0 = none
                                         // (each transfer is capped at limit_rate / max_parallel, so
                                         // the sum stays under it; fewer in flight -> less used)
  long connect_timeout_s = 30;
  long low_speed_limit = 1000;           // abort a transfer slower than this many bytes/s...
  long low_speed_time_s = 60;            // ...for this many seconds (then it is retried)
  long max_redirects = 5;
  std::uint64_t max_page_bytes = 8ull << 20;   // a page larger than this is refused
  std::string user_agent;                // "esxmirror/<version>"
  // When set and true, the engine behaves as if request_stop() was called (SIGINT/SIGTERM).
  const std::atomic<bool>* stop_flag = nullptr;
  // Request URLs are in their stored form (no secrets); this puts the secrets in just before each request.
  util::Secrets secrets;
};

struct RetryPolicy {
  int max_attempts = 4;                  // per request, per run
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{60000};
  // Wait before attempt `attempt` (2, 3...): base * 2^(attempt-2), at least Retry-After, at most max_delay
  // (a Retry-After beyond max_delay is cut to max_delay). 0 for attempt <= 1. Pure, no jitter.
  std::chrono::milliseconds delay(int attempt, std::optional<std::chrono::seconds> retry_after) const;
};

struct Validators {
  std::string etag;
  std::string last_modified;
  bool empty() const { return etag.empty() && last_modified.empty(); }
};

enum class Outcome {
  ok,            // 2xx, body complete
  not_modified,  // 304 to a conditional request
  auth,          // 401 / 407 / 403: not retried
  not_found,     // 404 / 410: not retried
  http_error,    // other 4xx: not retried
  exhausted,     // timeouts, connection errors, 429, 5xx: retried max_attempts times, still failing
  refused,       // refused locally: page too large, scheme not http(s), redirect loop
  aborted        // request_stop() was called before it finished
};
const char* to_string(Outcome o);

struct Request {
  std::uint64_t tag = 0;                 // the caller's identifier, handed back in the Response
  std::string url;                       // stored form (NetworkSettings::secrets fills in the secrets)
  Validators conditional;                // sent as If-None-Match / If-Modified-Since when set
  // Empty: the body is kept in memory (pages). Otherwise the body streams to this file, hashed on the
  // way (bundles); a partial file from an earlier attempt or run is resumed with Range + If-Range when
  // its recorded validator still matches, and started over otherwise (never glued).
  // While incomplete the body lives in partial_path(file) ("<file>.part") beside its resume record
  // partial_meta_path(file) ("<file>.part.meta": masked URL, ETag, Last-Modified); only a complete
  // body is renamed to `file` (replacing any older one), and the record is removed. After a failure or
  // an abort `file` is untouched and the two partial files stay for the next run (discard_partial()
  // removes them). The parent directory is created when missing.
  std::filesystem::path file;
};

struct Response {
  std::uint64_t tag = 0;
  std::string url;                       // as requested (mask before printing)
  Outcome outcome = Outcome::aborted;
  long status = 0;                       // last HTTP status seen (0 when none)
  std::string body;                      // memory requests
  std::string content_type;
  Validators validators;                 // of the final response
  std::uint64_t bytes = 0;               // size of the complete body (file: whole file incl. resumed prefix)
  util::Digests digests;                 // file requests: md5/sha256 of the whole file
  std::string error;                     // one line, secrets masked; empty when ok / not_modified
  int attempts = 0;
  bool resumed = false;                  // a Range request continued a partial file
};

// Counters for the report and the benchmark.
struct TransferStats {
  std::uint64_t requests = 0;            // HTTP requests sent (incl. retries)
  std::uint64_t body_bytes = 0;          // body bytes received
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

class TransferEngine {
 public:
  TransferEngine(NetworkSettings settings, RetryPolicy retry, int max_parallel);
  ~TransferEngine();
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  // Queues a request. May be called before run() or from inside on_done.
  void add(Request request);
  // Runs until every queued request has finished, calling on_done on this thread as each finishes.
  void run(const std::function<void(Response&&)>& on_done);
  // Start nothing new; in-flight transfers end as `aborted` (their partial files stay resumable).
  // Safe to call from a signal handler or another thread.
  void request_stop();
  TransferStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace esxmirror::net
