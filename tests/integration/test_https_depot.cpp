// Issue 10 §2: the online depot mirrored over https, through the proxy's CONNECT tunnel, with the
// vendor's download token in the URL and credentials in --proxy; neither secret is written anywhere.
// Hidden ([.depot-https]) until the depot pipeline is on main; run it with
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

SampleDepotOptions small_vibs() {
  SampleDepotOptions options;
  options.min_vib_bytes = 1024;
  options.max_vib_bytes = 24 * 1024;
  return options;
}

// The depot "main" behind kToken over https, a token file (0600), a fast-retry config and the proxy.
struct HttpsDepot {
  TestCa ca;
  SiteServer server{SampleDepot::standard(small_vibs())};
  HttpProxy proxy;
  TempDir tmp;
  fs::path dest = tmp / "mirror", config = tmp / "fast.toml", token_file = tmp / "token";
  fs::path report = tmp / "report.json", log = tmp / "esxmirror.log", metrics = tmp / "esxmirror.prom";

  HttpsDepot() {
    DepotTokens tokens;
    tokens.valid = kToken;
    server.set_depot_tokens(tokens);
    server.use_tls(ca.for_loopback());
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
                        ca.cert_file().string(), "--proxy", proxy_url, "--report", report.string(), "--log-file",
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

  // The next night asks again and downloads no VIB.
  w.server.reset_hits();
  ProcessResult second = w.sync();
  INFO(second.all());
  CHECK(second.exit_code == 0);
  for (const Hit& hit : w.server.hits()) CHECK_FALSE(has(hit.path, ".vib"));

  // Every connection went through a tunnel opened with the credentials.
  const std::string target = "127.0.0.1:" + std::to_string(w.server.port());
  CHECK(w.proxy.tunnels() >= 2);
  for (const ProxiedRequest& request : w.proxy.requests()) {
    CHECK(request.method == "CONNECT");
    CHECK(request.target == target);
    CHECK(request.status == 200);
  }
  CHECK(w.server.tls_handshakes() == w.proxy.tunnels());

  const std::vector<std::string> secrets = {kToken, kPassword, base64_encode("mirror:" + kPassword)};
  CHECK(fs::exists(w.dest / ".esxmirror" / "state.db"));
  CHECK_FALSE(slurp(w.log).empty());
  CHECK(files_under({w.dest}) > paths.size());
  CHECK(places_holding(secrets, {w.dest, w.report, w.log, w.metrics},
                       {{"first stdout", first.out}, {"first stderr", first.err}, {"second stdout", second.out},
                        {"second stderr", second.err}})
            .empty());
}
