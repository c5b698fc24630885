#include <catch2/catch.hpp>

#include "esxmirror/util/secrets.hpp"

using namespace esxmirror::util;

namespace {
const std::string kSource =
    "http://alice:S3cretPw@vendor.example:8080/download/vi/vi3_patches.html?token=Tok3nValue&lang=en";
}

TEST_CASE("the stored form of a URL has no userinfo and a placeholder for each secret of the source", "[secrets]") {
  Secrets secrets;
  secrets.add_source(kSource);
  CHECK(secrets.stored(kSource) == "http://vendor.example:8080/download/vi/vi3_patches.html?token={token}&lang={lang}");
  // Links resolved against the source carry its userinfo; links on the page may repeat its token.
  CHECK(secrets.stored("http://alice:S3cretPw@vendor.example:8080/download/vi/1000039-patch.html") ==
        "http://vendor.example:8080/download/vi/1000039-patch.html");
  CHECK(secrets.stored("http://vendor.example:8080/x.tgz?sid=Tok3nValue&v=2") ==
        "http://vendor.example:8080/x.tgz?sid={token}&v=2");
  // A query secret is a secret only as a query value, not wherever its text appears.
  CHECK(secrets.stored("http://vendor.example:8080/en/Tok3nValue.html") ==
        "http://vendor.example:8080/en/Tok3nValue.html");
  // Nothing to hide: the URL comes back exactly as it was; text that is not a URL too.
  CHECK(secrets.stored("http://other.example/ESX-1.tgz") == "http://other.example/ESX-1.tgz");
  CHECK(secrets.stored("ESX-1.tgz?token=Tok3nValue") == "ESX-1.tgz?token=Tok3nValue");
  CHECK(secrets.stored("") == "");
}

TEST_CASE("the request form fills the placeholders and sends the source's userinfo to the source's host only",
          "[secrets]") {
  Secrets secrets;
  secrets.add_source(kSource);
  CHECK(secrets.request(secrets.stored(kSource)) == kSource);
  CHECK(secrets.request("http://vendor.example:8080/software/vi/ESX-1.tgz") ==
        "http://alice:S3cretPw@vendor.example:8080/software/vi/ESX-1.tgz");
  CHECK(secrets.request("HTTP://VENDOR.example:8080/a") ==
        "http://alice:S3cretPw@VENDOR.example:8080/a");  // host case kept
  // Another port, scheme or host gets no credentials.
  CHECK(secrets.request("http://vendor.example:8081/a") == "http://vendor.example:8081/a");
  CHECK(secrets.request("https://vendor.example:8080/a") == "https://vendor.example:8080/a");
  CHECK(secrets.request("http://download3.vendor.example/a?x={token}") ==
        "http://download3.vendor.example/a?x=Tok3nValue");
  // A URL with its own userinfo keeps it.
  CHECK(secrets.request("http://bob:pw@vendor.example:8080/a") == "http://bob:pw@vendor.example:8080/a");
}

TEST_CASE("a {token} placeholder stands for the depot token in paths and queries", "[secrets]") {
  Secrets secrets;
  secrets.add_placeholder("token", "a1b2c3d4e5f6");
  const std::string stored = "https://dl.broadcom.com/{token}/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml";
  CHECK(secrets.stored(stored) == stored);
  CHECK(secrets.request(stored) == "https://dl.broadcom.com/a1b2c3d4e5f6/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml");
  CHECK(secrets.stored(secrets.request(stored)) == stored);
  CHECK(secrets.stored("https://dl.broadcom.com/x.zip?t=a1b2c3d4e5f6") == "https://dl.broadcom.com/x.zip?t={token}");
  // A source's query parameter of the same name gets its own placeholder.
  secrets.add_source("http://h.example/i.html?token=other");
  CHECK(secrets.stored("http://h.example/i.html?token=other") == "http://h.example/i.html?token={token-2}");
  CHECK(secrets.request("http://h.example/i.html?token={token-2}") == "http://h.example/i.html?token=other");
}

TEST_CASE("a source without secrets changes nothing", "[secrets]") {
  Secrets secrets;
  secrets.add_source("http://127.0.0.1:4711/download/vi/vi3_patches.html");
  secrets.add_source("not a url");
  CHECK(secrets.stored("http://127.0.0.1:4711/download/vi/1-patch.html") ==
        "http://127.0.0.1:4711/download/vi/1-patch.html");
  CHECK(secrets.request("http://127.0.0.1:4711/download/vi/1-patch.html") ==
        "http://127.0.0.1:4711/download/vi/1-patch.html");
}

TEST_CASE("scrub_url removes what an older release stored in clear, without knowing the secrets", "[secrets]") {
  CHECK(scrub_url(kSource) == "http://vendor.example:8080/download/vi/vi3_patches.html?token={token}&lang={lang}");
  CHECK(scrub_url("http://u:p@h.example/a.tgz") == "http://h.example/a.tgz");
  CHECK(scrub_url("http://h.example/a?Tok3nValue") == "http://h.example/a?{secret}");
  CHECK(scrub_url(scrub_url(kSource)) == scrub_url(kSource));
  CHECK(scrub_url("http://h.example/a.tgz") == "http://h.example/a.tgz");
  CHECK(scrub_url("no url here") == "no url here");
}
