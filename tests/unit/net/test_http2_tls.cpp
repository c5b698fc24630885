// The engine against a real TLS server with HTTP/2 (nghttpd, from Debian's nghttp2-server) on loopback:
// streams multiplexed on one connection once the CA is given, tls outcomes for an unknown CA and for a
// certificate issued for another name. Certificates are made per test with the openssl tool.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "esxmirror/net/transfer.hpp"
#include "esxmirror/util/hash.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using namespace esxmirror::net;
using esxmirror::testing::Child;
using esxmirror::testing::run_process;
using esxmirror::testing::TempDir;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// A program from PATH or the usual system directories (posix_spawn takes a path).
std::string find_program(const std::string& name) {
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) return (fs::path(dir) / name).string();
  }
  FAIL(name << " is missing: run scripts/setup (Debian packages nghttp2-server, openssl)");
  return "";
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A self-signed certificate for `names` (subjectAltName entries, e.g. "DNS:localhost,IP:127.0.0.1").
void make_certificate(const fs::path& dir, const std::string& names) {
  const auto r =
      run_process(find_program("openssl"), {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                                            "/CN=esxmirror test", "-addext", "subjectAltName=" + names, "-keyout",
                                            (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
  REQUIRE(r.exit_code == 0);
}

// nghttpd serving `docroot` over TLS with the certificate in `dir`.
struct Http2Server {
  TempDir logs;
  int port = free_port();
  std::unique_ptr<Child> child;
  Http2Server(const fs::path& docroot, const fs::path& dir) {
    child = std::make_unique<Child>(
        find_program("nghttpd"),
        std::vector<std::string>{"-a", "127.0.0.1", "-d", docroot.string(), std::to_string(port),
                                 (dir / "key.pem").string(), (dir / "cert.pem").string()},
        logs.path());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts(port)) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(port) + "/" + path;
  }
};

NetworkSettings settings(const std::string& cacert = "") {
  NetworkSettings s;
  s.connect_timeout_s = 5;
  s.cacert = cacert;
  return s;
}

RetryPolicy fast_retry() {
  RetryPolicy r;
  r.base_delay = milliseconds(10);
  r.max_delay = milliseconds(50);
  return r;
}

std::string content(int i) { return std::string(20000 + static_cast<std::size_t>(i), static_cast<char>('a' + i % 26)); }

}  // namespace

TEST_CASE("over TLS with HTTP/2, pages and files share one connection as streams", "[engine][http2]") {
  TempDir dir;
  make_certificate(dir.path(), "DNS:localhost,IP:127.0.0.1");
  fs::create_directories(dir / "www");
  for (int i = 0; i < 16; ++i) std::ofstream(dir / ("www/f" + std::to_string(i))) << content(i);
  Http2Server server(dir / "www", dir.path());

  TransferEngine engine(settings((dir / "cert.pem").string()), fast_retry(), 16);
  const LaneId files = engine.add_lane("files", 4);
  for (int i = 0; i < 16; ++i) {
    Request r{static_cast<std::uint64_t>(i), server.url("f" + std::to_string(i)), {}, {}};
    if (i % 2) {
      r.file = dir / ("out/f" + std::to_string(i));
      r.lane = files;
    }
    engine.add(r);
  }
  std::map<std::uint64_t, Response> done;
  engine.run([&](Response&& r) { done.emplace(r.tag, std::move(r)); });
  REQUIRE(done.size() == 16);
  for (auto& [tag, r] : done) {
    INFO(tag << ": " << r.error);
    REQUIRE(r.outcome == Outcome::ok);
    CHECK(r.http_version == 20);
    const std::string expected = content(static_cast<int>(tag));
    if (tag % 2) {
      util::StreamHasher h;
      h.update(expected.data(), expected.size());
      CHECK(r.digests.sha256 == h.finish().sha256);
    } else {
      CHECK(r.body == expected);
    }
  }
  CHECK(engine.stats().connections == 1);
}

TEST_CASE("certificates that cannot be verified are tls failures, tried once, with advice", "[engine][tls]") {
  TempDir dir;
  fs::create_directories(dir / "www");
  std::ofstream(dir / "www/x") << "x";
  SECTION("signed by a CA the engine was not given") {
    make_certificate(dir.path(), "DNS:localhost,IP:127.0.0.1");
    Http2Server server(dir / "www", dir.path());
    TransferEngine engine(settings(), fast_retry(), 2);
    engine.add({1, server.url("x"), {}, {}});
    Response r;
    engine.run([&](Response&& done) { r = std::move(done); });
    CHECK(r.outcome == Outcome::tls);
    CHECK(r.attempts == 1);
    CHECK(r.error.rfind("TLS: cannot verify the certificate of 127.0.0.1", 0) == 0);
    CHECK(r.error.find("--cacert FILE") != std::string::npos);
  }
  SECTION("issued for another name") {
    make_certificate(dir.path(), "DNS:mirror.invalid");
    Http2Server server(dir / "www", dir.path());
    TransferEngine engine(settings((dir / "cert.pem").string()), fast_retry(), 2);
    engine.add({1, server.url("x"), {}, {}});
    Response r;
    engine.run([&](Response&& done) { r = std::move(done); });
    CHECK(r.outcome == Outcome::tls);
    CHECK(r.attempts == 1);
    CHECK(r.error.rfind("TLS: the certificate of 127.0.0.1 is not issued for that name", 0) == 0);
  }
}
