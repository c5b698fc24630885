#include <catch2/catch.hpp>

#include "esxmirror/util/url_parts.hpp"

using namespace esxmirror::util;

TEST_CASE("split_url: scheme and host lower-cased, default port filled in, path as encoded", "[url]") {
  const auto parts = split_url("HTTPS://DL.Broadcom.COM/tok/PROD/a%20b/x.xml?q=1#frag");
  REQUIRE(parts);
  CHECK(parts->scheme == "https");
  CHECK(parts->host == "dl.broadcom.com");
  CHECK(parts->port == "443");
  CHECK(parts->path == "/tok/PROD/a%20b/x.xml");
  CHECK(parts->query == "q=1");
  CHECK(split_url("http://127.0.0.1:8080")->path == "/");
  CHECK(split_url("http://127.0.0.1:8080/")->port == "8080");
  CHECK(split_url("http://h/a/./b/../c")->path == "/a/c");  // dot segments removed, as libcurl requests it
}

TEST_CASE("split_url: relative references and garbage are not URLs", "[url]") {
  CHECK_FALSE(split_url("vib20/x.vib"));
  CHECK_FALSE(split_url("/etc/passwd"));
  CHECK_FALSE(split_url("host.example.com/x"));
  CHECK_FALSE(split_url(""));
  CHECK_FALSE(split_url("http://"));
}

TEST_CASE("percent_decode: every %XX, and nothing else", "[url]") {
  CHECK(percent_decode("a%20b%2Fc%2e%2E") == "a b/c..");
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("%00").size() == 1);
}
