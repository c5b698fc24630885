// Issue 10 §2: the legacy site served over https by a TLS server on loopback, with a CA and certificates
// the test makes. --cacert is honoured; an unknown CA, an expired certificate or another host's name is
// refused at once (exit 4, one line naming the host and what to do, one handshake, nothing placed, the
// run recorded); a sync through the proxy's CONNECT tunnel works and its password is written nowhere.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/depot_fixture.hpp"
#include "support/http_proxy.hpp"
#include "support/mirror_fixture.hpp"
#include "support/scoped_env.hpp"
#include "support/test_ca.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

std::size_t error_lines(const std::string& err) {
  std::size_t n = 0;
  for (std::size_t at = err.find("esxmirror: error: "); at != std::string::npos;
       at = err.find("esxmirror: error: ", at + 1)) {
    ++n;
  }
  return n;
}

// Where `password` or the Basic credentials made of it (or a piece of either) occur.
std::vector<std::string> leaks(const std::string& password, const std::vector<fs::path>& roots,
                               const std::map<std::string, std::string>& texts) {
  std::vector<std::string> found;
  for (const std::string& secret : {password, base64_encode("mirror:" + password)}) {
    for (std::string& leak : secret_leaks(secret, roots, texts)) found.push_back(leak);
  }
  return found;
}

// The mirror holds every 3.0.1 bundle of the site, byte for byte.
void check_mirrored(const MirrorFixture& f) {
  for (const std::string& id : k301) {
    INFO(id);
    CHECK(f.bundle_matches_site("3.0.1", id));
  }
}

struct Refusal {
  std::string name;
  TlsIdentity served;
  std::vector<std::string> args;   // --cacert, or none
  std::vector<std::string> texts;  // what the error line must say
};

}  // namespace

TEST_CASE("https: with --cacert the sync mirrors the site over TLS, and the next night fetches nothing new",
          "[https]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa ca;
  MirrorFixture f(SampleSite::standard(), ca.for_loopback());
  REQUIRE(f.server.index_url().rfind("https://127.0.0.1:", 0) == 0);

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--cacert", ca.cert_file().string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  check_mirrored(f);
  CHECK(f.server.tls_handshakes() >= 1);
  // Each bundle came over https, once.
  SampleSite site = f.server.site();
  for (const std::string& id : k301) CHECK(f.server.body_count(site.bundle_path(id)) == 1);

  f.server.reset_hits();
  ProcessResult again = f.sync({"--esx-version", "3.0.1", "--cacert", ca.cert_file().string()});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.server.body_count(site.bundle_path(id)) == 0);
  check_mirrored(f);
}

TEST_CASE(
    "https: a certificate that cannot be verified ends the run at once: exit 4, one line naming the host "
    "and what to do, one handshake, nothing placed, the run recorded",
    "[https]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa ca;
  TestCa stranger("stranger");
  const std::vector<Refusal> refusals = {
      {"unknown CA (no --cacert)",
       ca.for_loopback(),
       {},
       {"TLS: cannot verify the certificate of 127.0.0.1", "--cacert FILE"}},
      {"signed by another CA than --cacert's",
       ca.for_loopback(),
       {"--cacert", stranger.cert_file().string()},
       {"TLS: cannot verify the certificate of 127.0.0.1 with the CA bundle " + stranger.cert_file().string(),
        "pass the certificate of the CA that signed it with --cacert FILE"}},
      {"expired",
       ca.expired_for_loopback(),
       {"--cacert", ca.cert_file().string()},
       {"TLS: the certificate of 127.0.0.1 has expired", "the server must renew it"}},
      {"issued for another host",
       ca.for_other_host(),
       {"--cacert", ca.cert_file().string()},
       {"TLS: the certificate of 127.0.0.1 is not issued for that name", "use the host name the certificate names"}},
  };
  for (const Refusal& refusal : refusals) {
    DYNAMIC_SECTION(refusal.name) {
      MirrorFixture f(SampleSite::standard(), refusal.served);
      const fs::path report = f.tmp / "report.json";
      std::vector<std::string> args = {"--esx-version", "3.0.1", "--report", report.string()};
      args.insert(args.end(), refusal.args.begin(), refusal.args.end());
      ProcessResult r = f.sync(args);
      INFO(r.all());
      CHECK(r.exit_code == 4);
      CHECK(error_lines(r.err) == 1);
      CHECK(has(r.err, "esxmirror: error: cannot read the patch index " + f.server.index_url() + ": "));
      for (const std::string& text : refusal.texts) CHECK(has(r.err, text));
      // Not retried as a network blip: one handshake, and no request ever got through.
      CHECK(f.server.tls_handshakes() == 1);
      CHECK(f.server.hits().empty());
      CHECK_FALSE(fs::exists(f.dest / "3.0.1"));
      CHECK(f.served_files().empty());

      auto json = nlohmann::json::parse(slurp(report));
      CHECK(json["exit_code"] == 4);
      CHECK(json["outcome"] == "failed");
      CHECK(has(json["message"].get<std::string>(), refusal.texts.front()));
      auto runs = nlohmann::json::parse(f.command("status", {"--json"}).out)["runs"];
      REQUIRE(runs.size() == 1);
      CHECK(runs[0]["exit_code"] == 4);
      CHECK(runs[0]["finished_at"] != "-");
      CHECK(has(runs[0]["message"].get<std::string>(), refusal.texts.front()));
    }
  }
}

TEST_CASE("https: once the operator passes the CA that was missing, the same mirror completes", "[https]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa ca;
  MirrorFixture f(SampleSite::standard(), ca.for_loopback());
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 4);
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--cacert", ca.cert_file().string()});
  INFO(r.all());
  CHECK(r.exit_code == 0);
  check_mirrored(f);
  auto runs = nlohmann::json::parse(f.command("status", {"--json"}).out)["runs"];
  REQUIRE(runs.size() == 2);
  CHECK(runs[0]["exit_code"] == 0);
  CHECK(runs[1]["exit_code"] == 4);
}

TEST_CASE(
    "https through the proxy: CONNECT tunnels with the proxy's credentials, the mirror completes, and the "
    "password appears in no output, report, log, metrics, state or mirror file",
    "[https][proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa ca;
  MirrorFixture f(SampleSite::standard(), ca.for_loopback());
  const std::string password = "Tq4tunnelSecret";
  HttpProxy proxy;
  proxy.start();
  proxy.require_credentials("mirror", password);
  const std::string proxy_url = "http://mirror:" + password + "@127.0.0.1:" + std::to_string(proxy.port());
  // One bundle missing upstream on the first night, so error texts reach the output, report, log and state.
  SampleSite site = f.server.site();
  Fault gone;
  gone.status = 404;
  gone.status_times = -1;
  f.server.set_fault(site.bundle_path("ESX-1000050"), gone);
  const fs::path report = f.tmp / "report.json", log = f.tmp / "esxmirror.log", metrics = f.tmp / "esxmirror.prom";
  const std::vector<std::string> args = {"--esx-version",
                                         "3.0.1",
                                         "--cacert",
                                         ca.cert_file().string(),
                                         "--proxy",
                                         proxy_url,
                                         "--report",
                                         report.string(),
                                         "--log-file",
                                         log.string(),
                                         "--metrics",
                                         metrics.string(),
                                         "-vv"};

  ProcessResult first = f.sync(args);
  INFO(first.all());
  REQUIRE(first.exit_code == 1);
  CHECK(has(first.all(), "ESX-1000050"));
  f.server.clear_faults();
  ProcessResult second = f.sync(args);
  INFO(second.all());
  REQUIRE(second.exit_code == 0);
  check_mirrored(f);

  // Every connection to the site was a tunnel opened with the credentials: the proxy saw no plain
  // request, and the server no handshake that did not come through it.
  const std::string target = "127.0.0.1:" + std::to_string(f.server.port());
  CHECK(proxy.tunnels() >= 2);
  CHECK(proxy.refused() == 0);
  for (const ProxiedRequest& request : proxy.requests()) {
    CHECK(request.method == "CONNECT");
    CHECK(request.target == target);
    CHECK(request.proxy_authorization == "Basic " + base64_encode("mirror:" + password));
  }
  CHECK(f.server.tls_handshakes() == proxy.tunnels());

  CHECK(fs::exists(f.dest / ".esxmirror" / "state.db"));
  CHECK(read_tree(f.dest).size() > k301.size());
  CHECK_FALSE(slurp(log).empty());
  CHECK(leaks(password, {f.dest, report, log, metrics},
              {{"first stdout", first.out},
               {"first stderr", first.err},
               {"second stdout", second.out},
               {"second stderr", second.err}})
            .empty());
  for (const char* command : {"status", "list"}) {
    ProcessResult shown = f.command(command, {"--json"});
    INFO(command);
    CHECK(shown.exit_code == 0);
    CHECK(leaks(password, {}, {{command, shown.all()}}).empty());
  }
}

TEST_CASE("https: without --proxy the https_proxy variable is honoured, and http_proxy is not used for https",
          "[https][proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa ca;
  MirrorFixture f(SampleSite::standard(), ca.for_loopback());
  HttpProxy tunnel, plain;
  tunnel.start();
  plain.start();
  env.set("https_proxy", tunnel.url());
  env.set("http_proxy", plain.url());
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--cacert", ca.cert_file().string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  check_mirrored(f);
  CHECK(tunnel.tunnels() >= 1);
  CHECK(f.server.tls_handshakes() == tunnel.tunnels());
  CHECK(plain.requests().empty());
}

TEST_CASE("https through the proxy with wrong credentials: exit 4 saying 407, one CONNECT, the password not shown",
          "[https][proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  TestCa ca;
  MirrorFixture f(SampleSite::standard(), ca.for_loopback());
  HttpProxy proxy;
  proxy.start();
  proxy.require_credentials("mirror", "right-one");
  const std::string wrong = "Wr0ngTunnelPass";
  const fs::path report = f.tmp / "report.json";
  ProcessResult r =
      f.sync({"--esx-version", "3.0.1", "--cacert", ca.cert_file().string(), "--proxy",
              "http://mirror:" + wrong + "@127.0.0.1:" + std::to_string(proxy.port()), "--report", report.string()});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(error_lines(r.err) == 1);
  CHECK(has(r.err, "refused access (HTTP 407)"));
  // Refused credentials are final, like a 407 over plain http: not retried as a connection failure.
  CHECK(proxy.requests().size() == 1);
  CHECK(proxy.refused() == 1);
  CHECK(f.server.tls_handshakes() == 0);
  CHECK(leaks(wrong, {f.dest, report}, {{"output", r.all()}}).empty());
}
