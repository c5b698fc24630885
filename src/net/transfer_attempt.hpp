#pragma once
// One attempt of one request in flight: the easy handle's options, the libcurl callbacks that read the
// headers and take the body (pages into memory, files through a PartialFileWriter), and the facts the
// classifier needs once libcurl is done with it.
#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "esxmirror/net/transfer.hpp"
#include "net/curl_handles.hpp"
#include "net/hash_lanes.hpp"
#include "net/partial_file_writer.hpp"
#include "net/response_classifier.hpp"
#include "net/response_headers.hpp"

namespace esxmirror::net::detail {

// What every transfer's callbacks share with the engine (read from libcurl's callbacks on run()'s thread,
// the counters also from other threads).
struct EngineShared {
  NetworkSettings settings;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> body_bytes{0};
  std::atomic<std::uint64_t> connections{0};
  HashLanes hash_lanes{HashLanes::for_this_machine()};  // where file bodies are hashed (run()'s thread picks)

  // The process-wide flag a SIGINT/SIGTERM handler sets (NetworkSettings::stop_flag), latched in `stop`.
  bool stop_requested();
};

// A request across its attempts.
struct Job {
  Request request;
  int attempts = 0;  // requests sent for it (each retry and restart included)
  int restarts = 0;  // of those, restarts from zero (not counted against max_attempts)
  // Of the last response seen.
  long last_status = 0;
  Validators last_validators;
  std::string last_content_type;
  std::optional<std::uint64_t> last_content_length;
  long http_version = 0;
};

struct Attempt {
  EngineShared* engine = nullptr;
  std::unique_ptr<Job> job;
  EasyHandle easy;
  HeaderList headers;
  char errbuf[CURL_ERROR_SIZE] = {};
  std::string range;  // CURLOPT_RANGE value, kept alive for the attempt

  ResponseHeaders response;                   // of the current response (only the final one after redirects)
  std::uint64_t received = 0;                 // body bytes this attempt (kept or discarded)
  std::string body;                           // pages
  std::unique_ptr<PartialFileWriter> writer;  // files
  std::uint64_t resume_offset = 0;            // bytes of the partial a Range asked to continue (0: none)
  bool body_started = false;
  LocalFailure failure;

  RequestKind kind() const;
  // Sets every option of the easy handle for this attempt; `rate_share` caps its receive speed (0: none).
  // Throws std::runtime_error when libcurl refuses an option.
  void configure(std::uint64_t rate_share);
  // Opens the partial for the body that is starting (also for a 2xx that had no body at all). False with
  // `failure` set when the body cannot be taken.
  bool begin_body();
  // The facts for classify() once libcurl finished with `result` (the handle is still attached).
  AttemptFacts facts(CURLcode result, const RetryPolicy& retry);
};

}  // namespace esxmirror::net::detail
