// TransferEngine through a forward proxy (NetworkSettings::proxy), with and without its credentials,
// for http (absolute-form requests) and https (a CONNECT tunnel).
#include <catch2/catch.hpp>

#include <string>

#include "esxmirror/net/transfer.hpp"
#include "support/http_proxy.hpp"
#include "support/sample_site.hpp"
#include "support/site_server.hpp"
#include "support/test_ca.hpp"

using namespace esxmirror;
using namespace esxmirror::net;

namespace {

Response fetch_via(const std::string& proxy, const std::string& url, const std::string& cacert = "") {
  NetworkSettings settings;
  settings.proxy = proxy;
  settings.cacert = cacert;
  settings.connect_timeout_s = 5;
  RetryPolicy retry;
  retry.base_delay = std::chrono::milliseconds(10);
  retry.max_delay = std::chrono::milliseconds(50);
  TransferEngine engine(settings, retry, 2);
  engine.add({1, url, {}, {}});
  Response out;
  engine.run([&](Response&& r) { out = std::move(r); });
  return out;
}

std::string with_credentials(const std::string& proxy_url, const std::string& user_password) {
  std::string url = proxy_url;
  url.insert(url.find("://") + 3, user_password + "@");
  return url;
}

}  // namespace

TEST_CASE("requests go through the configured proxy, and its credentials never show", "[engine][proxy]") {
  testing::SiteServer site(testing::SampleSite::standard());
  site.edit([](testing::SampleSite& s) { s.set_file("via.txt", "through the proxy"); });
  site.start();
  testing::HttpProxy proxy;
  proxy.start();
  proxy.require_credentials("puser", "ppass");

  SECTION("with the right credentials") {
    const auto r = fetch_via(with_credentials(proxy.url(), "puser:ppass"), site.url("via.txt"));
    REQUIRE(r.outcome == Outcome::ok);
    CHECK(r.body == "through the proxy");
    CHECK(proxy.forwarded() == 1);
    REQUIRE(proxy.requests().size() == 1);
    CHECK(proxy.requests()[0].target == site.url("via.txt"));
    CHECK(site.count("via.txt") == 1);
  }
  SECTION("with wrong credentials: 407 is an auth failure, not retried, password not echoed") {
    const auto r = fetch_via(with_credentials(proxy.url(), "puser:wrongpass"), site.url("via.txt"));
    CHECK(r.outcome == Outcome::auth);
    CHECK(r.status == 407);
    CHECK(r.attempts == 1);
    CHECK(r.error.find("wrongpass") == std::string::npos);
    CHECK(proxy.refused() == 1);
    CHECK(site.count("via.txt") == 0);
  }
}

TEST_CASE("https goes through the proxy's CONNECT tunnel, and a refused one is judged by the proxy's answer",
          "[engine][proxy][tls]") {
  testing::TestCa ca;
  testing::SiteServer site(testing::SampleSite::standard());
  site.edit([](testing::SampleSite& s) { s.set_file("via.txt", "through the tunnel"); });
  site.use_tls(ca.for_loopback());
  site.start();
  testing::HttpProxy proxy;
  proxy.start();
  proxy.require_credentials("puser", "ppass");
  const std::string cacert = ca.cert_file().string();

  SECTION("with the right credentials") {
    const auto r = fetch_via(with_credentials(proxy.url(), "puser:ppass"), site.url("via.txt"), cacert);
    REQUIRE(r.outcome == Outcome::ok);
    CHECK(r.body == "through the tunnel");
    CHECK(proxy.tunnels() == 1);
    REQUIRE(proxy.requests().size() == 1);
    CHECK(proxy.requests()[0].target == "127.0.0.1:" + std::to_string(site.port()));
    CHECK(site.tls_handshakes() == 1);
    CHECK(site.count("via.txt") == 1);
  }
  SECTION("with wrong credentials: the proxy's 407 is an auth failure, not retried as a connection failure") {
    const auto r = fetch_via(with_credentials(proxy.url(), "puser:wrongpass"), site.url("via.txt"), cacert);
    CHECK(r.outcome == Outcome::auth);
    CHECK(r.status == 407);
    CHECK(r.attempts == 1);
    CHECK(r.error.rfind("HTTP 407 Proxy Authentication Required", 0) == 0);
    CHECK(r.error.find("wrongpass") == std::string::npos);
    CHECK(proxy.refused() == 1);
    CHECK(site.tls_handshakes() == 0);
  }
}
