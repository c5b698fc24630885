// Issue 10 §2: the online depot mirrored over https, through the proxy's CONNECT tunnel, with the
// vendor's download token in the URL and credentials in --proxy; neither secret is written anywhere;
// a certificate that cannot be verified ends the run at once (exit 4). Hidden ([.depot-https]) until the depot pipeline is on main; run it with
// `test_integration '[.depot-https]'`. It uses only the sample depot, its server and the binary, so it
// compiles without the depot code.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/http_proxy.hpp"
#include "support/mirror_fixture.hpp"
#include "support/scoped_env.hpp"
#include "support/secret_search.hpp"
#include "support/site_server.hpp"
#include "support/test_ca.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

// Letters and digits found nowhere else, so any occurrence is a leak.
const std::string kToken = "Hx8rTLSdepotK3vQ9mWz2PbN";
const std::string kPassword = "Vn6proxyDepotPass";

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

SampleDepotOptions tiny_vibs() {
  SampleDepotOptions options;
  options.min_vib_bytes = 1024;
  options.max_vib_bytes = 24 * 1024;
  return options;
}

// The depot "main" behind kToken over https with the certificate `issue` makes, a token file (0600), a
// fast-retry config and the proxy with credentials.
struct HttpsDepot {
  TestCa ca;
  fs::path cacert = ca.cert_file();  // what sync() passes to --cacert
  SiteServer server{SampleDepot::standard(tiny_vibs())};
  HttpProxy proxy;
  TempDir tmp;
  fs::path dest = tmp / "mirror", config = tmp / "fast.toml", token_file = tmp / "token";
  fs::path report = tmp / "report.json", log = tmp / "esxmirror.log", metrics = tmp / "esxmirror.prom";

  explicit HttpsDepot(TlsIdentity (TestCa::*issue)() const = &TestCa::for_loopback) {
    DepotTokens tokens;
    tokens.valid = kToken;
    server.set_depot_tokens(tokens);
    server.use_tls((ca.*issue)());
    server.start();
    proxy.start();
    proxy.require_credentials("mirror", kPassword);
    std::ofstream(config) << "retry_base_delay_ms = 20\nretry_max_delay_ms = 200\n";
    std::ofstream(token_file) << kToken << "\n";
    fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);
  }

  ProcessResult sync() {
    const std::string proxy_url = "http://mirror:" + kPassword + "@127.0.0.1:" + std::to_string(proxy.port());
    return run_process(binary_path(),
                       {"sync", "--source", server.depot_url_template(), "--token-file", token_file.string(),
                        "--esx-version", "8.0.3", "--dest", dest.string(), "--config", config.string(), "--cacert",
                        cacert.string(), "--proxy", proxy_url, "--report", report.string(), "--log-file",
                        log.string(), "--metrics", metrics.string(), "-vv"});
  }
};

}  // namespace

TEST_CASE("https depot: mirrored through the proxy's CONNECT tunnel with a token, neither the token nor the "
          "proxy password written anywhere",
          "[.depot-https]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  HttpsDepot w;
  REQUIRE(w.server.depot_url_template().rfind("https://127.0.0.1:", 0) == 0);

  ProcessResult first = w.sync();
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  const SampleDepot depot = w.server.depot();
  const std::vector<std::string> paths = depot.paths_for({"8.0.3"});
  REQUIRE(paths.size() > 3);
  for (const std::string& path : paths) {
    INFO(path);
    REQUIRE(fs::is_regular_file(w.dest / "main" / path));
    // The vendor index is rewritten to list what the mirror holds; everything else is upstream's bytes.
    if (path != depot.vendor_index_path()) CHECK(slurp(w.dest / "main" / path) == depot.file(path));
  }
  REQUIRE_FALSE(w.server.hits().empty());
  for (const Hit& hit : w.server.hits()) CHECK(hit.token == "valid");
  // Every connection of a run went through a tunnel opened with the credentials: the proxy saw no plain
  // request, and the server no handshake that did not come through it.
  const auto check_tunnelled = [&w] {
    const std::string target = "127.0.0.1:" + std::to_string(w.server.port());
    CHECK(w.proxy.tunnels() >= 1);
    for (const ProxiedRequest& request : w.proxy.requests()) {
      CHECK(request.method == "CONNECT");
      CHECK(request.target == target);
      CHECK(request.status == 200);
      CHECK(request.proxy_authorization == "Basic " + base64_encode("mirror:" + kPassword));
    }
    CHECK(w.server.tls_handshakes() == w.proxy.tunnels());
  };
  check_tunnelled();

  // The next night asks again and downloads no VIB.
  w.server.reset_hits();
  w.proxy.reset();
  ProcessResult second = w.sync();
  INFO(second.all());
  CHECK(second.exit_code == 0);
  REQUIRE_FALSE(w.server.hits().empty());
  for (const Hit& hit : w.server.hits()) CHECK_FALSE(has(hit.path, ".vib"));
  check_tunnelled();

  const std::vector<std::string> secrets = {kToken, kPassword, base64_encode("mirror:" + kPassword)};
  CHECK(fs::exists(w.dest / ".esxmirror" / "state.db"));
  CHECK_FALSE(slurp(w.log).empty());
  CHECK(files_under({w.dest}) > paths.size());
  CHECK(places_holding(secrets, {w.dest, w.report, w.log, w.metrics},
                       {{"first stdout", first.out}, {"first stderr", first.err}, {"second stdout", second.out},
                        {"second stderr", second.err}})
            .empty());
}

TEST_CASE("https depot: a certificate that cannot be verified ends the run at once: exit 4, one line naming the "
          "host and what to do, one tunnel and one handshake, nothing mirrored, no secret shown",
          "[.depot-https]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa stranger("stranger");
  struct Refusal {
    std::string name;
    TlsIdentity (TestCa::*issue)() const;
    bool stranger_ca;
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
      CHECK(w.server.tls_handshakes() == 1);
      CHECK(w.server.hits().empty());
      CHECK_FALSE(fs::exists(w.dest / "main"));
      CHECK(places_holding({kToken, kPassword, base64_encode("mirror:" + kPassword)}, {w.dest, w.report, w.log},
                           {{"output", r.all()}})
                .empty());
    }
  }
}
