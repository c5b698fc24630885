// Issue 10 §2: the online depot mirrored over https, through the proxy's CONNECT tunnel, with the
// vendor's download token in the URL and credentials in --proxy; neither secret is written anywhere;
// a certificate that cannot be verified ends the run at once (exit 4).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/depot_fixture.hpp"
#include "support/http_proxy.hpp"
#include "support/mirror_fixture.hpp"
#include "support/scoped_env.hpp"
#include "support/test_ca.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

const std::string kPassword = "Vn6proxyDepotPass";

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The depot fixture served over https with the certificate `issue` makes, and the proxy with credentials.
struct HttpsDepot {
  TestCa ca;
  DepotFixture f;
  HttpProxy proxy;
  fs::path cacert = ca.cert_file();  // what sync() passes to --cacert
  fs::path report = f.tmp / "report.json", log = f.tmp / "esxmirror.log", metrics = f.tmp / "esxmirror.prom";

  explicit HttpsDepot(TlsIdentity (TestCa::*issue)() const = &TestCa::for_loopback)
      : f(SampleDepot::standard(small_vibs()), SampleSite(), (ca.*issue)()) {
    proxy.start();
    proxy.require_credentials("mirror", kPassword);
  }

  ProcessResult sync() {
    const std::string proxy_url = "http://mirror:" + kPassword + "@127.0.0.1:" + std::to_string(proxy.port());
    return f.sync({"--esx-version", "8.0.3", "--cacert", cacert.string(), "--proxy", proxy_url, "--report",
                   report.string(), "--log-file", log.string(), "--metrics", metrics.string(), "-vv"});
  }

  // Where the token, the proxy password or its Basic credentials (or a piece of them) occur.
  std::vector<std::string> leaks(const std::map<std::string, std::string>& texts) const {
    std::vector<std::string> found;
    for (const std::string& secret : {kDepotToken, kPassword, base64_encode("mirror:" + kPassword)}) {
      for (std::string& leak : secret_leaks(secret, {f.dest, report, log, metrics}, texts)) found.push_back(leak);
    }
    return found;
  }

  // Every connection of a run went through a tunnel opened with the credentials: the proxy saw no plain
  // request, and the server no handshake that did not come through it.
  void check_tunnelled() const {
    const std::string target = "127.0.0.1:" + std::to_string(f.server.port());
    CHECK(proxy.tunnels() >= 1);
    for (const ProxiedRequest& request : proxy.requests()) {
      CHECK(request.method == "CONNECT");
      CHECK(request.target == target);
      CHECK(request.status == 200);
      CHECK(request.proxy_authorization == "Basic " + base64_encode("mirror:" + kPassword));
    }
    CHECK(f.server.tls_handshakes() == proxy.tunnels());
  }
};

}  // namespace

TEST_CASE(
    "https depot: mirrored through the proxy's CONNECT tunnel with a token, neither the token nor the "
    "proxy password written anywhere",
    "[depot][https][proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  HttpsDepot w;
  REQUIRE(w.f.source().rfind("https://127.0.0.1:", 0) == 0);

  ProcessResult first = w.sync();
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  const SampleDepot depot = w.f.server.depot();
  CHECK(mirror_differences(w.f.mirror(), depot, {"8.0.3"}).empty());
  CHECK(consistency_problems(w.f.mirror(), depot).empty());
  REQUIRE_FALSE(w.f.server.hits().empty());
  for (const Hit& hit : w.f.server.hits()) CHECK(hit.token == "valid");
  w.check_tunnelled();

  // The next night asks again and downloads no VIB.
  w.f.server.reset_hits();
  w.proxy.reset();
  ProcessResult second = w.sync();
  INFO(second.all());
  CHECK(second.exit_code == 0);
  REQUIRE_FALSE(w.f.server.hits().empty());
  for (const Hit& hit : w.f.server.hits()) CHECK_FALSE(is_vib_request(hit));
  CHECK(mirror_differences(w.f.mirror(), depot, {"8.0.3"}).empty());
  w.check_tunnelled();

  CHECK(fs::exists(w.f.dest / ".esxmirror" / "state.db"));
  CHECK_FALSE(slurp(w.log).empty());
  CHECK(w.leaks({{"first stdout", first.out},
                 {"first stderr", first.err},
                 {"second stdout", second.out},
                 {"second stderr", second.err}})
            .empty());
}

TEST_CASE(
    "https depot: a certificate that cannot be verified ends the run at once: exit 4, one line naming the "
    "host and what to do, one tunnel and one handshake, nothing mirrored, no secret shown",
    "[depot][https][proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa stranger("stranger");
  struct Refusal {
    std::string name;
    TlsIdentity (TestCa::*issue)() const;
    bool stranger_ca;  // --cacert names another CA than the one that signed the certificate
    std::string text;
  };
  const std::vector<Refusal> refusals = {
      {"unknown CA", &TestCa::for_loopback, true, "TLS: cannot verify the certificate of 127.0.0.1 with the CA bundle"},
      {"expired", &TestCa::expired_for_loopback, false, "TLS: the certificate of 127.0.0.1 has expired"},
      {"issued for another host", &TestCa::for_other_host, false,
       "TLS: the certificate of 127.0.0.1 is not issued for that name"},
  };
  for (const Refusal& refusal : refusals) {
    DYNAMIC_SECTION(refusal.name) {
      HttpsDepot w(refusal.issue);
      if (refusal.stranger_ca) w.cacert = stranger.cert_file();
      ProcessResult r = w.sync();
      INFO(r.all());
      CHECK(r.exit_code == 4);
      CHECK(count_of(r.err, "esxmirror: error: ") == 1);
      CHECK(has(r.err, "esxmirror: error: cannot read the depot index https://127.0.0.1:"));
      CHECK(has(r.err, refusal.text));
      CHECK(w.proxy.tunnels() == 1);
      CHECK(w.f.server.tls_handshakes() == 1);
      CHECK(w.f.server.hits().empty());
      CHECK_FALSE(fs::exists(w.f.mirror()));
      CHECK(w.leaks({{"output", r.all()}}).empty());
    }
  }
}
