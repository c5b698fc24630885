// classify() and decide_body_start(): what a finished attempt means, from its facts alone, no socket
// (as aria2 tests HttpResponse).
#include <curl/curl.h>
#include <catch2/catch.hpp>

#include <chrono>

#include "net/response_classifier.hpp"

using namespace esxmirror::net;
using namespace esxmirror::net::detail;
using Action = Verdict::Action;
using Partial = Verdict::Partial;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));

NetworkSettings settings() {
  NetworkSettings s;
  s.max_page_bytes = 1000;
  s.max_redirects = 5;
  s.low_speed_limit = 1000;
  s.low_speed_time_s = 60;
  s.connect_timeout_s = 30;
  return s;
}

AttemptFacts http(long status, RequestKind kind = RequestKind::page) {
  AttemptFacts f;
  f.kind = kind;
  f.curl_result = CURLE_OK;
  f.headers.status = status;
  f.host = "patches.example.com";
  f.counted_attempts = 1;
  f.max_attempts = 3;
  f.request_sent = true;
  return f;
}

AttemptFacts curl_failed(CURLcode code, std::string message) {
  AttemptFacts f = http(0);
  f.curl_result = code;
  f.curl_error = std::move(message);
  return f;
}

Verdict classify(const AttemptFacts& f) { return esxmirror::net::detail::classify(f, settings(), kNow); }

}  // namespace

TEST_CASE("2xx: pages are ok, complete files are committed", "[classify]") {
  auto page = classify(http(200));
  CHECK(page.action == Action::done);
  CHECK(page.outcome == Outcome::ok);
  CHECK(page.text.empty());
  CHECK(classify(http(204, RequestKind::head)).outcome == Outcome::ok);
  auto file = http(200, RequestKind::file);
  file.file_bytes = 10;
  CHECK(classify(file).partial == Partial::commit);
  SECTION("a file shorter than its expected size is a mismatch, not kept") {
    file.expected_size = 64;
    const auto v = classify(file);
    CHECK(v.outcome == Outcome::size_mismatch);
    CHECK(v.text == "size mismatch: expected 64 bytes, received 10");
    CHECK(v.partial == Partial::discard);
    CHECK(v.action == Action::done);
  }
  SECTION("the expected size exactly") {
    file.expected_size = 10;
    CHECK(classify(file).partial == Partial::commit);
  }
}

TEST_CASE("final HTTP answers are never retried", "[classify]") {
  CHECK(classify(http(304)).outcome == Outcome::not_modified);
  for (long status : {401L, 403L, 407L}) {
    const auto v = classify(http(status));
    CHECK(v.action == Action::done);
    CHECK(v.outcome == Outcome::auth);
  }
  CHECK(classify(http(401)).text == "HTTP 401 Unauthorized: check the credentials (netrc, proxy) or the URL");
  CHECK(classify(http(404)).outcome == Outcome::not_found);
  CHECK(classify(http(404)).text == "HTTP 404 Not Found");
  CHECK(classify(http(410)).outcome == Outcome::not_found);
  CHECK(classify(http(400)).text == "HTTP 400 Bad Request");
  CHECK(classify(http(499)).text == "HTTP 499");
  CHECK(classify(http(302)).outcome == Outcome::http_error);  // a redirect not followed
  // An error answer to a file request leaves its partial for the next run.
  CHECK(classify(http(403, RequestKind::file)).partial == Partial::keep);
}

TEST_CASE("a proxy refusing the CONNECT tunnel is judged by its answer, as if the origin gave it", "[classify]") {
  auto refused = curl_failed(CURLE_COULDNT_CONNECT, "CONNECT tunnel failed, response 407");
  refused.tunnel_refused = true;
  refused.headers.status = 407;
  const auto v = classify(refused);
  CHECK(v.action == Action::done);
  CHECK(v.outcome == Outcome::auth);
  CHECK(v.text == "HTTP 407 Proxy Authentication Required: check the credentials (netrc, proxy) or the URL");
  refused.headers.status = 502;
  CHECK(classify(refused).action == Action::retry);
  // The same libcurl code without a refused tunnel stays a connection failure, retried.
  CHECK(classify(curl_failed(CURLE_COULDNT_CONNECT, "Connection refused")).action == Action::retry);
}

TEST_CASE("416 to a range request starts over, and elsewhere it is final", "[classify][resume]") {
  auto f = http(416, RequestKind::file);
  f.resume_requested = true;
  const auto v = classify(f);
  CHECK(v.action == Action::restart);
  CHECK(v.partial == Partial::discard);
  f.restarts = kMaxRestarts;
  CHECK(classify(f).outcome == Outcome::http_error);
  f.resume_requested = false;
  f.restarts = 0;
  CHECK(classify(f).text == "HTTP 416 Range Not Satisfiable");
}

TEST_CASE("429 and 5xx are retried with Retry-After, then exhausted", "[classify][retry]") {
  auto f = http(503);
  SECTION("delay-seconds") {
    f.headers.retry_after = "7";
    const auto v = classify(f);
    CHECK(v.action == Action::retry);
    CHECK(v.text == "HTTP 503");
    REQUIRE(v.retry_after);
    CHECK(v.retry_after->count() == 7);
    CHECK(v.partial == Partial::keep);
  }
  SECTION("an HTTP-date") {
    f.headers.retry_after = "Tue, 14 Nov 2023 22:15:00 GMT";  // kNow + 100 s
    const auto v = classify(f);
    REQUIRE(v.retry_after);
    CHECK(v.retry_after->count() == 100);
  }
  SECTION("no Retry-After") { CHECK_FALSE(classify(http(429)).retry_after); }
  SECTION("the last attempt") {
    f.counted_attempts = 3;
    const auto v = classify(f);
    CHECK(v.action == Action::done);
    CHECK(v.outcome == Outcome::exhausted);
    CHECK(v.text == "HTTP 503 after 3 attempts");
  }
  SECTION("stop requested: aborted, naming the last cause") {
    f.stop = true;
    const auto v = classify(f);
    CHECK(v.outcome == Outcome::aborted);
    CHECK(v.text == "stopped before it finished (last: HTTP 503)");
  }
}

TEST_CASE("failures found while the body arrived come first", "[classify]") {
  auto f = curl_failed(CURLE_WRITE_ERROR, "Failure writing output to destination");
  f.kind = RequestKind::file;
  f.headers.status = 200;
  SECTION("the disk refused: refused, with the masked text") {
    f.local = {LocalFailure::Kind::io, "cannot write /m/x.part: No space left (http://u:pw@h/x?token=t0k)"};
    const auto v = classify(f);
    CHECK(v.outcome == Outcome::refused);
    CHECK(v.text.find("No space left") != std::string::npos);
    CHECK(v.text.find("t0k") == std::string::npos);
    CHECK(v.text.find("pw") == std::string::npos);
  }
  SECTION("cannot continue the partial: restart, until restarts run out") {
    f.local = {LocalFailure::Kind::restart, "the server answered the range request with Content-Range 'x'"};
    CHECK(classify(f).action == Action::restart);
    f.restarts = kMaxRestarts;
    const auto v = classify(f);
    CHECK(v.outcome == Outcome::http_error);
    CHECK(v.text ==
          "cannot resume and cannot start over: the server answered the range request with "
          "Content-Range 'x'");
    CHECK(v.partial == Partial::discard);
  }
  SECTION("a 206 we did not ask for") {
    f.local = {LocalFailure::Kind::protocol, "HTTP 206 Partial Content to a request without Range"};
    CHECK(classify(f).outcome == Outcome::http_error);
  }
  SECTION("a body past the expected size") {
    f.local = {LocalFailure::Kind::size_mismatch, "size mismatch: expected 10 bytes, received at least 20 (cut)"};
    const auto v = classify(f);
    CHECK(v.outcome == Outcome::size_mismatch);
    CHECK(v.partial == Partial::discard);
    CHECK(v.action == Action::done);
  }
  SECTION("a page past max_page_bytes, even with attempts left") {
    f.kind = RequestKind::page;
    f.local = {LocalFailure::Kind::page_too_large, ""};
    CHECK(classify(f).text == "page larger than 1000 bytes");
  }
  SECTION("even when a stop was requested") {
    f.stop = true;
    f.local = {LocalFailure::Kind::size_mismatch, "size mismatch"};
    CHECK(classify(f).outcome == Outcome::size_mismatch);
  }
}

TEST_CASE("libcurl's errors: refused, retried or aborted", "[classify][retry]") {
  CHECK(classify(curl_failed(CURLE_FILESIZE_EXCEEDED, "")).text == "page larger than 1000 bytes");
  CHECK(classify(curl_failed(CURLE_TOO_MANY_REDIRECTS, "")).text == "too many redirects (more than 5)");
  const auto scheme = classify(curl_failed(CURLE_UNSUPPORTED_PROTOCOL, "Protocol \"file\" disabled"));
  CHECK(scheme.outcome == Outcome::refused);
  CHECK(scheme.text == "only http and https URLs are allowed (Protocol \"file\" disabled)");
  CHECK(classify(curl_failed(CURLE_URL_MALFORMAT, "bad")).text == "malformed URL (bad)");

  auto stall = curl_failed(CURLE_OPERATION_TIMEDOUT, "Operation too slow");
  stall.counted_attempts = 3;
  CHECK(classify(stall).text == "timed out: below 1000 B/s for 60 s (3 attempts)");
  stall.request_sent = false;
  CHECK(classify(stall).text == "timed out connecting after 30 s (3 attempts)");

  auto cut = curl_failed(CURLE_PARTIAL_FILE, "transfer closed");
  cut.received = 5000;
  CHECK(classify(cut).action == Action::retry);
  cut.counted_attempts = 3;
  CHECK(classify(cut).text == "connection cut after 5000 bytes (3 attempts)");
  cut.received = 0;
  CHECK(classify(cut).text == "connection failed: transfer closed (3 attempts)");

  auto refused = curl_failed(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 9");
  CHECK(classify(refused).action == Action::retry);
  refused.stop = true;
  CHECK(classify(refused).outcome == Outcome::aborted);
  CHECK(classify(refused).text == "stopped before it finished");
}

TEST_CASE("TLS failures are their own outcome, never retried, and say what to do", "[classify][tls]") {
  SECTION("unknown CA") {
    auto f =
        curl_failed(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: unable to get local issuer certificate");
    const auto v = classify(f);
    CHECK(v.action == Action::done);
    CHECK(v.outcome == Outcome::tls);
    CHECK(v.text ==
          "TLS: cannot verify the certificate of patches.example.com (SSL certificate problem: unable to "
          "get local issuer certificate): if it is signed by a private CA, pass that CA's certificate "
          "with --cacert FILE");
    f.cacert = "/etc/ssl/ours.pem";
    CHECK(classify(f).text.find("with the CA bundle /etc/ssl/ours.pem") != std::string::npos);
  }
  SECTION("expired") {
    const auto v =
        classify(curl_failed(CURLE_PEER_FAILED_VERIFICATION, "SSL certificate problem: certificate has expired"));
    CHECK(v.outcome == Outcome::tls);
    CHECK(v.text.rfind("TLS: the certificate of patches.example.com has expired", 0) == 0);
  }
  SECTION("wrong host name") {
    const auto v = classify(curl_failed(CURLE_PEER_FAILED_VERIFICATION,
                                        "SSL: no alternative certificate subject name matches target host name "
                                        "'patches.example.com'"));
    CHECK(v.text.rfind("TLS: the certificate of patches.example.com is not issued for that name", 0) == 0);
  }
  SECTION("an unreadable CA bundle") {
    auto f = curl_failed(CURLE_SSL_CACERT_BADFILE, "error setting certificate file: /nope.pem");
    f.cacert = "/nope.pem";
    const auto v = classify(f);
    CHECK(v.outcome == Outcome::tls);
    CHECK(v.text.rfind("TLS: cannot read the CA bundle /nope.pem", 0) == 0);
    CHECK(v.text.find("--cacert FILE") != std::string::npos);
  }
  SECTION("the handshake failed (a plain-http port, an old protocol)") {
    const auto v = classify(curl_failed(CURLE_SSL_CONNECT_ERROR, "error:0A00010B:SSL routines::wrong version number"));
    CHECK(v.outcome == Outcome::tls);
    CHECK(v.text.rfind("TLS: the handshake with patches.example.com failed", 0) == 0);
  }
  SECTION("with attempts left, still final") {
    auto f = curl_failed(CURLE_SSL_ISSUER_ERROR, "issuer check failed");
    f.counted_attempts = 1;
    f.max_attempts = 10;
    CHECK(classify(f).action == Action::done);
  }
  SECTION("secrets in libcurl's message are masked") {
    const auto text = tls_error_text(CURLE_PEER_FAILED_VERIFICATION,
                                     "failed for https://mirror:s3cret@h.example/x?token=abc", "h.example", "");
    CHECK(text.find("s3cret") == std::string::npos);
    CHECK(text.find("abc") == std::string::npos);
  }
  CHECK(is_tls_failure(CURLE_PEER_FAILED_VERIFICATION));
  CHECK_FALSE(is_tls_failure(CURLE_COULDNT_CONNECT));
}

TEST_CASE("the first body byte: continue the prefix, start from zero, or refuse", "[classify][resume]") {
  ResponseHeaders h;
  h.status = 206;
  h.content_range = "bytes 100-199/200";
  CHECK(decide_body_start(h, 100, std::nullopt).kind == BodyStart::Kind::append);
  CHECK(decide_body_start(h, 0, std::nullopt).kind == BodyStart::Kind::protocol_error);
  const auto elsewhere = decide_body_start(h, 50, std::nullopt);
  CHECK(elsewhere.kind == BodyStart::Kind::restart);
  CHECK(elsewhere.text == "the server answered the range request with Content-Range 'bytes 100-199/200'");
  CHECK(decide_body_start(h, 100, 200).kind == BodyStart::Kind::append);
  const auto grown = decide_body_start(h, 100, 150);
  CHECK(grown.kind == BodyStart::Kind::size_mismatch);
  CHECK(grown.text == "size mismatch: expected 150 bytes, the server announced 200");

  h.status = 200;
  h.content_range.clear();
  CHECK(decide_body_start(h, 100, std::nullopt).kind == BodyStart::Kind::from_zero);  // never glued
  h.content_length = 300;
  CHECK(decide_body_start(h, 0, 300).kind == BodyStart::Kind::from_zero);
  CHECK(decide_body_start(h, 0, 299).kind == BodyStart::Kind::size_mismatch);
}

TEST_CASE("texts for the operator", "[classify]") {
  CHECK(http_status_text(503) == "HTTP 503 Service Unavailable");
  CHECK(one_line_masked("  two\r\nlines\tand http://u:pw@h/p?token=x  ") ==
        "two  lines and http://u:***@h/p?token=***");
  CHECK(std::string(to_string(Outcome::tls)) == "tls");
  CHECK(std::string(to_string(Outcome::size_mismatch)) == "size_mismatch");
}
