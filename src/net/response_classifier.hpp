#pragma once
// What one finished attempt means: its outcome, or a retry, or a restart from zero. Pure: facts in
// (HTTP status, headers, libcurl's result code, the request's kind and resume state), a verdict out.
// The engine acts on the verdict; nothing here touches a socket or a file.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "esxmirror/net/transfer.hpp"
#include "net/response_headers.hpp"

namespace esxmirror::net::detail {

constexpr int kMaxRestarts = 3;  // 416 / bad Content-Range: start over, not counted as an attempt

enum class RequestKind { page, file, head };

// Why a body could not be taken, found while it arrived (set by the transfer's callbacks).
struct LocalFailure {
  enum class Kind {
    none,
    io,             // the partial file could not be written: refused
    restart,        // the partial cannot be continued: start over (text: why)
    protocol,       // an answer we cannot use (206 without Range): http_error
    size_mismatch,  // the body is not the expected size: size_mismatch
    page_too_large  // a page past max_page_bytes: refused
  } kind = Kind::none;
  std::string text;
};

// Everything known when an attempt ends.
struct AttemptFacts {
  RequestKind kind = RequestKind::page;
  int curl_result = 0;          // CURLcode
  std::string curl_error;       // libcurl's message, one line, masked
  ResponseHeaders headers;      // of the final response (status 0: none arrived)
  bool tunnel_refused = false;  // an https request's proxy refused CONNECT: headers.status is its answer
  std::string host;             // of the URL, for messages
  std::string cacert;           // NetworkSettings::cacert, for messages
  LocalFailure local;
  bool resume_requested = false;  // a Range request continued a partial
  bool request_sent = false;      // bytes of a request went out (a timeout then is a stall)
  std::uint64_t received = 0;     // body bytes of this attempt
  std::uint64_t file_bytes = 0;   // file requests: size of the partial, prefix included
  std::optional<std::uint64_t> expected_size;
  bool stop = false;         // the stop flag is set
  int counted_attempts = 1;  // attempts so far, this one included, restarts not counted
  int max_attempts = 1;
  int restarts = 0;  // restarts so far
};

struct Verdict {
  enum class Action {
    done,    // report `outcome` with `text` as the error ("" for ok / not_modified)
    retry,   // schedule again after the backoff (`text`: the cause, for the log)
    restart  // start over at once, without Range (`text`: why)
  } action = Action::done;
  Outcome outcome = Outcome::ok;
  std::string text;
  std::optional<std::chrono::seconds> retry_after;
  // What becomes of a file request's partial: kept for a resume, removed, or (ok) committed.
  enum class Partial { keep, discard, commit } partial = Partial::keep;
};

// The verdict for an attempt. `now` dates a Retry-After given as an HTTP-date.
Verdict classify(const AttemptFacts& facts, const NetworkSettings& settings, std::chrono::system_clock::time_point now);

// How the first body byte of a 2xx answer to a file request is taken.
struct BodyStart {
  enum class Kind { from_zero, append, protocol_error, restart, size_mismatch } kind = Kind::from_zero;
  std::string text;  // why, for the last three
};
// `resume_offset`: bytes of the partial a Range asked to continue (0: no Range was sent). A 206 must
// continue exactly there; a 200 is a whole new body (never glued to the prefix). A known expected size
// is checked against the announced length (Content-Length, or a Content-Range's total) before any byte.
BodyStart decide_body_start(const ResponseHeaders& headers, std::uint64_t resume_offset,
                            std::optional<std::uint64_t> expected_size);

// "HTTP 404 Not Found" (the reason phrase for the common codes, else "HTTP 499").
std::string http_status_text(long status);

// The error text of a TLS failure: names the host and says what to do (--cacert FILE for a private CA,
// the certificate's name, its expiry), from libcurl's code and message.
std::string tls_error_text(int curl_result, std::string_view curl_error, std::string_view host,
                           std::string_view cacert);

// True for libcurl's codes that mean certificate verification or the TLS handshake failed.
bool is_tls_failure(int curl_result);

// Text from libcurl or the OS as one line with every URL in it masked (util::mask_secrets): the one way
// the engine's error texts are made safe to print and store.
std::string one_line_masked(std::string_view text);

}  // namespace esxmirror::net::detail
