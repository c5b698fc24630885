// HEAD probes, expected sizes, digest choice, TLS failures and masked errors, end to end on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/hash.hpp"
#include "support/process.hpp"
#include "support/sample_site.hpp"
#include "support/site_server.hpp"

using namespace esxmirror;
using namespace esxmirror::net;
using esxmirror::testing::Fault;
using esxmirror::testing::SampleSite;
using esxmirror::testing::SiteServer;
using esxmirror::testing::TempDir;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

NetworkSettings test_settings() {
  NetworkSettings s;
  s.user_agent = "esxmirror-test/1";
  s.connect_timeout_s = 5;
  return s;
}

RetryPolicy fast_retry() {
  RetryPolicy r;
  r.base_delay = milliseconds(10);
  r.max_delay = milliseconds(50);
  return r;
}

Response fetch(Request request, NetworkSettings settings = test_settings()) {
  TransferEngine engine(std::move(settings), fast_retry(), 2);
  engine.add(std::move(request));
  Response out;
  int calls = 0;
  engine.run([&](Response&& r) {
    ++calls;
    out = std::move(r);
  });
  REQUIRE(calls == 1);
  return out;
}

Request file_request(const std::string& url, const fs::path& file, std::optional<std::uint64_t> expected) {
  Request r{1, url, {}, file};
  r.expected_size = expected;
  return r;
}

struct Site {
  SiteServer server{SampleSite::standard()};
  Site() { server.start(); }
  void put(const std::string& path, std::string content) {
    server.edit([&](SampleSite& s) { s.set_file(path, std::move(content)); });
  }
};

// A one-shot HTTP/1.0-style server: answers one connection with `head` + `body`, no Content-Length,
// and closes (the body's end is the connection's end). Returns the port.
class RawServer {
 public:
  RawServer(std::string answer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answer = std::move(answer)] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char request[4096];
      (void)::recv(client, request, sizeof request, 0);
      std::size_t sent = 0;
      while (sent < answer.size()) {
        const ssize_t n = ::send(client, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the client hung up: what the test is about
        sent += static_cast<std::size_t>(n);
      }
      ::close(client);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a HEAD probe reports status, length and validators, and no body", "[engine][head]") {
  Site site;
  const std::string data(12345, 'h');
  site.put("bin/probe.bin", data);
  Request head{1, site.server.url("bin/probe.bin"), {}, {}};
  head.method = Method::head;
  const auto r = fetch(head);
  REQUIRE(r.outcome == Outcome::ok);
  CHECK(r.status == 200);
  REQUIRE(r.content_length);
  CHECK(*r.content_length == data.size());
  CHECK_FALSE(r.validators.etag.empty());
  CHECK(r.body.empty());
  CHECK(r.bytes == 0);
  const auto hits = site.server.hits();
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].method == "HEAD");
  CHECK(hits[0].body_bytes == 0);

  SECTION("conditional: 304") {
    head.conditional = r.validators;
    CHECK(fetch(head).outcome == Outcome::not_modified);
  }
  SECTION("missing: not_found, not retried") {
    head.url = site.server.url("bin/none.bin");
    CHECK(fetch(head).outcome == Outcome::not_found);
    CHECK(site.server.count("bin/none.bin") == 1);
  }
}

TEST_CASE("a file of the expected size is kept, and another size is refused without a partial", "[engine][size]") {
  Site site;
  TempDir dir;
  const std::string data(50000, 'v');
  site.put("vib/a.vib", data);
  const auto target = dir / "a.vib";
  SECTION("exactly the expected size") {
    const auto r = fetch(file_request(site.server.url("vib/a.vib"), target, data.size()));
    REQUIRE(r.outcome == Outcome::ok);
    CHECK(fs::file_size(target) == data.size());
  }
  SECTION("announced larger: cut before any byte is written") {
    const auto r = fetch(file_request(site.server.url("vib/a.vib"), target, 40000));
    CHECK(r.outcome == Outcome::size_mismatch);
    CHECK(r.error == "size mismatch: expected 40000 bytes, the server announced 50000");
    CHECK(r.attempts == 1);
    CHECK_FALSE(fs::exists(target));
    CHECK_FALSE(fs::exists(partial_path(target)));
    CHECK_FALSE(fs::exists(partial_meta_path(target)));
  }
  SECTION("announced smaller") {
    const auto r = fetch(file_request(site.server.url("vib/a.vib"), target, 60000));
    CHECK(r.outcome == Outcome::size_mismatch);
    CHECK(r.error == "size mismatch: expected 60000 bytes, the server announced 50000");
  }
  SECTION("resuming: a Content-Range total other than expected") {
    const auto probe = fetch({1, site.server.url("vib/a.vib"), {}, {}});
    std::ofstream(partial_path(target), std::ios::binary) << data.substr(0, 1000);
    std::ofstream(partial_meta_path(target), std::ios::binary)
        << "esxmirror-partial 1\nurl " << site.server.url("vib/a.vib") << "\netag " << probe.validators.etag << "\n";
    const auto r = fetch(file_request(site.server.url("vib/a.vib"), target, 45000));
    CHECK(r.outcome == Outcome::size_mismatch);
    CHECK(r.status == 206);
    CHECK(r.error == "size mismatch: expected 45000 bytes, the server announced 50000");
    CHECK_FALSE(fs::exists(partial_path(target)));
  }
}

TEST_CASE("a body without Content-Length that grows past the expected size is cut at once", "[engine][size]") {
  TempDir dir;
  const std::string body(4u << 20, 'x');  // far more than expected: the cut must come early
  RawServer server("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n" + body);
  const auto target = dir / "grows.vib";
  TransferEngine engine(test_settings(), fast_retry(), 1);
  engine.add(file_request("http://127.0.0.1:" + std::to_string(server.port()) + "/grows.vib", target, 1000));
  Response r;
  engine.run([&](Response&& done) { r = std::move(done); });
  CHECK(r.outcome == Outcome::size_mismatch);
  CHECK(r.error.rfind("size mismatch: expected 1000 bytes, received at least ", 0) == 0);
  CHECK(r.attempts == 1);
  CHECK(engine.stats().body_bytes < body.size());
  CHECK_FALSE(fs::exists(target));
  CHECK_FALSE(fs::exists(partial_path(target)));
}

TEST_CASE("a file request computes the digests it asks for", "[engine]") {
  Site site;
  TempDir dir;
  site.put("vib/b.vib", "vib bytes");
  Request r{1, site.server.url("vib/b.vib"), {}, dir / "b.vib"};
  r.digests = util::StreamHasher::Algorithms::sha256;
  const auto done = fetch(r);
  REQUIRE(done.outcome == Outcome::ok);
  util::StreamHasher h;
  h.update("vib bytes", 9);
  CHECK(done.digests.sha256 == h.finish().sha256);
  CHECK(done.digests.md5.empty());
}

TEST_CASE("https to a server that does not speak TLS: a tls outcome, once, naming the host", "[engine][tls]") {
  Site site;
  site.put("x.txt", "plain");
  auto url = site.server.url("x.txt");
  url.replace(0, 4, "https");
  url += "?token=s3cret";
  const auto r = fetch({1, url, {}, {}});
  CHECK(r.outcome == Outcome::tls);
  CHECK(r.attempts == 1);
  CHECK(site.server.count("x.txt") == 0);
  CHECK(r.error.find("127.0.0.1") != std::string::npos);
  CHECK(r.error.find("--cacert") != std::string::npos);
  CHECK(r.error.find("s3cret") == std::string::npos);
}

TEST_CASE("errors never show the secrets of the URL", "[engine]") {
  Site site;
  site.put("x.txt", "x");
  Fault down;
  down.status = 503;
  down.status_times = -1;
  site.server.set_fault("x.txt", down);
  auto url = site.server.url("x.txt?token=t0psecret");
  url.replace(url.find("://") + 3, 0, "mirror:pa55word@");
  const auto r = fetch({1, url, {}, {}});
  CHECK(r.outcome == Outcome::exhausted);
  CHECK(r.error.find("t0psecret") == std::string::npos);
  CHECK(r.error.find("pa55word") == std::string::npos);
}
