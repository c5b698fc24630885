#include "net/response_classifier.hpp"

#include <curl/curl.h>

#include <algorithm>

#include "esxmirror/util/url.hpp"

namespace esxmirror::net {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::not_modified:
      return "not_modified";
    case Outcome::auth:
      return "auth";
    case Outcome::not_found:
      return "not_found";
    case Outcome::http_error:
      return "http_error";
    case Outcome::exhausted:
      return "exhausted";
    case Outcome::refused:
      return "refused";
    case Outcome::aborted:
      return "aborted";
    case Outcome::tls:
      return "tls";
    case Outcome::size_mismatch:
      return "size_mismatch";
  }
  return "unknown";
}

namespace detail {

namespace {

using Action = Verdict::Action;
using Partial = Verdict::Partial;

const char* reason_phrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string attempts_text(int attempts) {
  return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
}

Verdict done(Outcome outcome, std::string text, Partial partial = Partial::keep) {
  Verdict v;
  v.outcome = outcome;
  v.text = std::move(text);
  v.partial = partial;
  return v;
}

Verdict restart(std::string why) {
  Verdict v;
  v.action = Action::restart;
  v.text = std::move(why);
  v.partial = Partial::discard;
  return v;
}

// Transient causes: another attempt after the backoff while attempts remain; what arrived stays as the
// partial and is resumed.
Verdict retry_or_exhaust(const AttemptFacts& f, const std::string& cause, bool http,
                         std::chrono::system_clock::time_point now) {
  if (f.counted_attempts < std::max(f.max_attempts, 1) && !f.stop) {
    Verdict v;
    v.action = Action::retry;
    v.text = cause;
    if (!f.headers.retry_after.empty()) v.retry_after = parse_retry_after(f.headers.retry_after, now);
    return v;
  }
  if (f.stop) return done(Outcome::aborted, "stopped before it finished (last: " + cause + ")");
  return done(Outcome::exhausted, http ? cause + " after " + attempts_text(f.counted_attempts)
                                       : cause + " (" + attempts_text(f.counted_attempts) + ")");
}

Verdict local_verdict(const AttemptFacts& f, const NetworkSettings& settings) {
  const std::string text = one_line_masked(f.local.text);  // may name files and URLs
  switch (f.local.kind) {
    case LocalFailure::Kind::io:
      return done(Outcome::refused, text);
    case LocalFailure::Kind::restart:
      if (f.restarts >= kMaxRestarts) {
        return done(Outcome::http_error, "cannot resume and cannot start over: " + text, Partial::discard);
      }
      return restart(text);
    case LocalFailure::Kind::protocol:
      return done(Outcome::http_error, text);
    case LocalFailure::Kind::size_mismatch:
      return done(Outcome::size_mismatch, text, Partial::discard);
    case LocalFailure::Kind::page_too_large:
    case LocalFailure::Kind::none:
      break;
  }
  return done(Outcome::refused, "page larger than " + std::to_string(settings.max_page_bytes) + " bytes");
}

Verdict http_verdict(const AttemptFacts& f, std::chrono::system_clock::time_point now) {
  const long status = f.headers.status;
  if (status / 100 == 2) {
    if (f.kind != RequestKind::file) return done(Outcome::ok, "");
    if (f.expected_size && f.file_bytes != *f.expected_size) {
      return done(Outcome::size_mismatch,
                  "size mismatch: expected " + std::to_string(*f.expected_size) + " bytes, received " +
                      std::to_string(f.file_bytes),
                  Partial::discard);
    }
    return done(Outcome::ok, "", Partial::commit);
  }
  if (status == 304) return done(Outcome::not_modified, "");
  if (status == 401 || status == 403 || status == 407) {
    return done(Outcome::auth, http_status_text(status) + ": check the credentials (netrc, proxy) or the URL");
  }
  if (status == 404 || status == 410) return done(Outcome::not_found, http_status_text(status));
  if (status == 416 && f.resume_requested && f.restarts < kMaxRestarts) {
    // The partial is no use to the server (e.g. the file shrank): start over without Range.
    return restart("the server refused the range request (HTTP 416)");
  }
  if (status == 429 || status / 100 == 5) return retry_or_exhaust(f, "HTTP " + std::to_string(status), true, now);
  return done(Outcome::http_error, http_status_text(status));
}

bool contains(std::string_view text, std::string_view what) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::search(text.begin(), text.end(), what.begin(), what.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != text.end();
}

}  // namespace

std::string one_line_masked(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  std::string line(text);
  for (char& c : line) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return util::mask_secrets(line);
}

std::string http_status_text(long status) {
  std::string text = "HTTP " + std::to_string(status);
  const char* reason = reason_phrase(status);
  if (*reason) {
    text += ' ';
    text += reason;
  }
  return text;
}

bool is_tls_failure(int curl_result) {
  switch (static_cast<CURLcode>(curl_result)) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

std::string tls_error_text(int curl_result, std::string_view curl_error, std::string_view host,
                           std::string_view cacert) {
  const std::string who = host.empty() ? std::string("the server") : std::string(host);
  const std::string why = " (" + one_line_masked(curl_error) + ")";
  const std::string ca = cacert.empty() ? std::string() : std::string(cacert);
  switch (static_cast<CURLcode>(curl_result)) {
    case CURLE_SSL_CACERT_BADFILE:
      if (ca.empty()) {
        return "TLS: cannot read the system's CA certificates" + why +
               ": install ca-certificates, or pass a CA bundle with --cacert FILE";
      }
      return "TLS: cannot read the CA bundle " + ca + why + ": pass a readable PEM file with --cacert FILE";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS: the handshake with " + who + " failed" + why +
             ": check that the URL's port speaks https; a private CA's certificate goes in --cacert FILE";
    default:
      break;
  }
  if (contains(curl_error, "expired")) {
    return "TLS: the certificate of " + who + " has expired" + why +
           ": the server must renew it (or this machine's clock is wrong)";
  }
  if (contains(curl_error, "subject name") || contains(curl_error, "host name") || contains(curl_error, "hostname")) {
    return "TLS: the certificate of " + who + " is not issued for that name" + why +
           ": use the host name the certificate names in the URL";
  }
  if (!ca.empty()) {
    return "TLS: cannot verify the certificate of " + who + " with the CA bundle " + ca + why +
           ": pass the certificate of the CA that signed it with --cacert FILE";
  }
  return "TLS: cannot verify the certificate of " + who + why +
         ": if it is signed by a private CA, pass that CA's certificate with --cacert FILE";
}

BodyStart decide_body_start(const ResponseHeaders& headers, std::uint64_t resume_offset,
                            std::optional<std::uint64_t> expected_size) {
  const auto mismatch = [&](std::uint64_t announced) {
    return BodyStart{BodyStart::Kind::size_mismatch, "size mismatch: expected " + std::to_string(*expected_size) +
                                                         " bytes, the server announced " + std::to_string(announced)};
  };
  if (headers.status == 206) {
    if (resume_offset == 0) {
      return {BodyStart::Kind::protocol_error, "HTTP 206 Partial Content to a request without Range"};
    }
    // "bytes START-END/TOTAL": it must continue exactly where the partial ends.
    const std::string expected = "bytes " + std::to_string(resume_offset) + "-";
    if (headers.content_range.rfind(expected, 0) != 0) {
      return {BodyStart::Kind::restart,
              "the server answered the range request with Content-Range '" + headers.content_range + "'"};
    }
    const auto range = parse_content_range(headers.content_range);
    if (expected_size && range && range->total && *range->total != *expected_size) return mismatch(*range->total);
    return {BodyStart::Kind::append, ""};
  }
  // A whole body (200, or the server ignored / refused our If-Range): never glued to a prefix.
  if (expected_size && headers.content_length && *headers.content_length != *expected_size) {
    return mismatch(*headers.content_length);
  }
  return {BodyStart::Kind::from_zero, ""};
}

Verdict classify(const AttemptFacts& f, const NetworkSettings& settings, std::chrono::system_clock::time_point now) {
  // Local reasons first: they explain why libcurl stopped.
  if (f.local.kind != LocalFailure::Kind::none) return local_verdict(f, settings);
  const auto result = static_cast<CURLcode>(f.curl_result);
  if (result != CURLE_OK && f.stop) return done(Outcome::aborted, "stopped before it finished");
  if (result == CURLE_FILESIZE_EXCEEDED) {
    return done(Outcome::refused, "page larger than " + std::to_string(settings.max_page_bytes) + " bytes");
  }
  if (result == CURLE_OK) return http_verdict(f, now);
  // The proxy's answer stands for the origin's: a 407 is final like any 407, a 502 retried like any 5xx.
  if (f.tunnel_refused) return http_verdict(f, now);
  if (is_tls_failure(f.curl_result)) {
    return done(Outcome::tls, tls_error_text(f.curl_result, f.curl_error, f.host, f.cacert));
  }
  switch (result) {
    case CURLE_TOO_MANY_REDIRECTS:
      return done(Outcome::refused, "too many redirects (more than " + std::to_string(settings.max_redirects) + ")");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return done(Outcome::refused, "only http and https URLs are allowed (" + f.curl_error + ")");
    case CURLE_URL_MALFORMAT:
      return done(Outcome::refused, "malformed URL (" + f.curl_error + ")");
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return done(Outcome::refused, f.curl_error);
    case CURLE_OPERATION_TIMEDOUT:
      if (f.request_sent) {
        return retry_or_exhaust(f,
                                "timed out: below " + std::to_string(settings.low_speed_limit) + " B/s for " +
                                    std::to_string(settings.low_speed_time_s) + " s",
                                false, now);
      }
      return retry_or_exhaust(f, "timed out connecting after " + std::to_string(settings.connect_timeout_s) + " s",
                              false, now);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      if (f.received > 0)
        return retry_or_exhaust(f, "connection cut after " + std::to_string(f.received) + " bytes", false, now);
      return retry_or_exhaust(f, "connection failed: " + f.curl_error, false, now);
    default:
      // Connection refused, name resolution, proxy...: transient until proven otherwise.
      return retry_or_exhaust(f, f.curl_error, false, now);
  }
}

}  // namespace detail
}  // namespace esxmirror::net
