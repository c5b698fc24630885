// ResponseHeaders and Content-Range parsing: header lines in, values out, no socket.
#include <catch2/catch.hpp>

#include "net/response_headers.hpp"

using esxmirror::net::detail::parse_content_range;
using esxmirror::net::detail::ResponseHeaders;

TEST_CASE("header lines as libcurl hands them become status, validators and lengths", "[headers]") {
  ResponseHeaders h;
  h.feed("HTTP/1.1 200 OK\r\n");
  h.feed("ETag: \"abc\"\r\n");
  h.feed("last-modified:   Tue, 03 Apr 2007 10:00:00 GMT \r\n");
  h.feed("CONTENT-LENGTH: 1234\r\n");
  h.feed("Retry-After: 120\r\n");
  h.feed("Content-Range: bytes 0-9/10\r\n");
  h.feed("X-Other: ignored\r\n");
  h.feed("\r\n");
  CHECK(h.status == 200);
  CHECK(h.validators.etag == "\"abc\"");
  CHECK(h.validators.last_modified == "Tue, 03 Apr 2007 10:00:00 GMT");
  REQUIRE(h.content_length);
  CHECK(*h.content_length == 1234);
  CHECK(h.retry_after == "120");
  CHECK(h.content_range == "bytes 0-9/10");
}

TEST_CASE("a new status line forgets the previous response's headers (redirects, 100-continue)", "[headers]") {
  ResponseHeaders h;
  h.feed("HTTP/1.1 302 Found\r\n");
  h.feed("ETag: \"hop\"\r\n");
  h.feed("Content-Length: 5\r\n");
  h.feed("Retry-After: 3\r\n");
  h.feed("HTTP/2 304\r\n");
  CHECK(h.status == 304);
  CHECK(h.validators.etag.empty());
  CHECK(h.validators.last_modified.empty());
  CHECK_FALSE(h.content_length);
  CHECK(h.retry_after.empty());
}

TEST_CASE("odd header values are not taken for numbers", "[headers]") {
  ResponseHeaders h;
  h.feed("HTTP/1.1 200 OK");
  SECTION("negative length") {
    h.feed("Content-Length: -5");
    CHECK_FALSE(h.content_length);
  }
  SECTION("garbage after the number") {
    h.feed("Content-Length: 12abc");
    CHECK_FALSE(h.content_length);
  }
  SECTION("beyond 64 bits") {
    h.feed("Content-Length: 99999999999999999999999");
    CHECK_FALSE(h.content_length);
  }
  SECTION("a line without a colon") {
    h.feed("garbage");
    CHECK(h.status == 200);
  }
  SECTION("a status line without a code") {
    h.feed("HTTP/1.1");
    CHECK(h.status == 0);
  }
}

TEST_CASE("Content-Range values", "[headers]") {
  const auto r = parse_content_range("bytes 100-199/1000");
  REQUIRE(r);
  CHECK(r->first == 100);
  CHECK(r->last == 199);
  REQUIRE(r->total);
  CHECK(*r->total == 1000);
  const auto unknown_total = parse_content_range("bytes 0-4/*");
  REQUIRE(unknown_total);
  CHECK_FALSE(unknown_total->total);
  CHECK_FALSE(parse_content_range("bytes */1000"));    // the form of a 416: no range
  CHECK_FALSE(parse_content_range("bytes 10-5/100"));  // backwards
  CHECK_FALSE(parse_content_range("bytes 0-99/50"));   // past the total
  CHECK_FALSE(parse_content_range("items 0-1/2"));
  CHECK_FALSE(parse_content_range(""));
}
