// Issue 3 §7: a sync through an HTTP proxy (--proxy, or the http_proxy variable), with and without
// proxy credentials, and the credentials never written anywhere an operator or a log collector reads.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "support/http_proxy.hpp"
#include "support/mirror_fixture.hpp"
#include "support/scoped_env.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

// Every request the site answered came through the proxy, for this site, in absolute form.
void check_all_proxied(const MirrorFixture& f, const HttpProxy& proxy) {
  std::vector<ProxiedRequest> requests = proxy.requests();
  CHECK(f.server.hits().size() == proxy.forwarded());
  std::set<std::string> bundles;
  SampleSite site = f.server.site();
  for (const std::string& id : k301) bundles.insert(f.server.url(site.bundle_path(id)));
  std::set<std::string> seen;
  for (const ProxiedRequest& r : requests) {
    INFO(r.target);
    CHECK(r.target.rfind(f.server.base_url(), 0) == 0);
    seen.insert(r.target.substr(0, r.target.find('?')));
  }
  CHECK(seen.count(f.server.index_url()) == 1);
  for (const std::string& bundle : bundles) {
    INFO(bundle);
    CHECK(seen.count(bundle) == 1);
  }
}

// Every file under `dir` (the state database with its WAL, staging, the lock...), concatenated.
std::string all_bytes_under(const fs::path& dir) {
  std::string bytes;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += slurp(entry.path());
  }
  return bytes;
}

}  // namespace

TEST_CASE("a sync with --proxy sends every request through the proxy and completes the mirror", "[proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  MirrorFixture f;
  HttpProxy proxy;
  proxy.start();
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--proxy", proxy.url()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  CHECK(proxy.forwarded() >= 1 + k301.size() * 2);  // index, the pages, the bundles
  check_all_proxied(f, proxy);
  for (const ProxiedRequest& request : proxy.requests()) CHECK(request.proxy_authorization.empty());
}

TEST_CASE("without --proxy the http_proxy variable is honoured", "[proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  MirrorFixture f;
  HttpProxy proxy;
  proxy.start();
  env.set("http_proxy", proxy.url());
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  check_all_proxied(f, proxy);

  // no_proxy naming the host sends the requests straight to it.
  env.set("no_proxy", "127.0.0.1");
  proxy.reset();
  f.server.reset_hits();
  fs::remove_all(f.dest);
  ProcessResult direct = f.sync({"--esx-version", "3.0.1"});
  INFO(direct.all());
  REQUIRE(direct.exit_code == 0);
  CHECK(proxy.requests().empty());
  CHECK(f.server.hits().size() > k301.size());
}

TEST_CASE("proxy credentials in --proxy are used and never shown in output, report, log or state", "[proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  const std::string password = "Zq9proxySecret";
  MirrorFixture f;
  HttpProxy proxy;
  proxy.start();
  proxy.require_credentials("mirror", password);
  const std::string proxy_url = "http://mirror:" + password + "@127.0.0.1:" + std::to_string(proxy.port());
  // One failing bundle so that error texts are written to the output, the report and the state too.
  SampleSite site = f.server.site();
  Fault gone;
  gone.status = 404;
  gone.status_times = -1;
  f.server.set_fault(site.bundle_path("ESX-1000050"), gone);
  fs::path report = f.tmp / "report.json";
  fs::path log = f.tmp / "esxmirror.log";
  fs::path metrics = f.tmp / "esxmirror.prom";

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--proxy", proxy_url, "--report", report.string(), "--log-file",
                            log.string(), "--metrics", metrics.string(), "-vv"});
  INFO(r.all());
  REQUIRE(r.exit_code == 1);
  CHECK(proxy.refused() == 0);
  CHECK(proxy.forwarded() > k301.size());
  for (const ProxiedRequest& request : proxy.requests()) {
    CHECK(request.proxy_authorization == "Basic " + base64_encode("mirror:" + password));
  }
  for (const std::string& id : k301) {
    if (id != "ESX-1000050") CHECK(f.bundle_matches_site("3.0.1", id));
  }
  CHECK(r.all().find("ESX-1000050") != std::string::npos);

  CHECK(r.all().find(password) == std::string::npos);
  CHECK(slurp(report).find(password) == std::string::npos);
  CHECK(slurp(log).find(password) == std::string::npos);
  CHECK(slurp(metrics).find(password) == std::string::npos);
  CHECK_FALSE(slurp(log).empty());
  CHECK(all_bytes_under(f.dest / ".esxmirror").find(password) == std::string::npos);
  CHECK(all_bytes_under(f.dest).find(password) == std::string::npos);

  for (const char* command : {"status", "list"}) {
    ProcessResult shown = f.command(command, {"--json"});
    INFO(command);
    CHECK(shown.exit_code == 0);
    CHECK(shown.all().find(password) == std::string::npos);
  }
  ProcessResult config = run_process(binary_path(), {"config", "show", "--proxy", proxy_url});
  CHECK(config.exit_code == 0);
  CHECK(config.out.find(password) == std::string::npos);
}

TEST_CASE("wrong proxy credentials: exit 4 saying access was refused, the password not shown", "[proxy]") {
  ScopedEnv env;
  clear_proxy_environment(env);
  MirrorFixture f;
  HttpProxy proxy;
  proxy.start();
  proxy.require_credentials("mirror", "right-one");
  const std::string wrong = "Wr0ngProxyPass";
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--proxy",
                            "http://mirror:" + wrong + "@127.0.0.1:" + std::to_string(proxy.port()), "--report",
                            (f.tmp / "report.json").string()});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("407") != std::string::npos);
  CHECK(proxy.refused() >= 1);
  CHECK(proxy.forwarded() == 0);
  CHECK(f.server.hits().empty());
  CHECK(r.all().find(wrong) == std::string::npos);
  CHECK(slurp(f.tmp / "report.json").find(wrong) == std::string::npos);
  CHECK(all_bytes_under(f.dest).find(wrong) == std::string::npos);
}
