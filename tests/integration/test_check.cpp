// Issue 10 §1: `esxmirror check`, what an operator runs after pasting a new token and what monitoring runs
// hourly. Against the real binary, the sample depot behind its token and the sample site: what it says per
// source and version, that it asks only conditionally or by HEAD once the mirror knows the documents, that
// it writes nothing under <dest> (not even the directory, no -wal or -shm beside the state database) and
// takes no lock, and that an unusable token is exit 4 with sync's words.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/strings.hpp"
#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"
#include "support/test_ca.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// Every entry under `dir` (directories too) with its type, size, modification time and, for a file, the
// sha-256 of its bytes: what "nothing written" is checked against. Empty when `dir` does not exist.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code missing;
  if (!fs::exists(dir, missing)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    REQUIRE(::lstat(entry.path().c_str(), &st) == 0);
    out[entry.path().lexically_relative(dir).generic_string()] =
        std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
        std::to_string(st.st_mtim.tv_nsec) +
        (S_ISREG(st.st_mode) ? " " + esxmirror::util::sha256_hex(slurp(entry.path())) : "");
  }
  return out;
}

// `esxmirror check` of the fixture's depot (and `extra` sources), with its token and config.
ProcessResult check(const DepotFixture& f, const Strings& args) {
  Strings all = {"check",  "--source",      f.source(), "--token-file",   f.token_file.string(),
                 "--dest", f.dest.string(), "--config", f.config.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(binary_path(), all);
}

ProcessResult check_site(const MirrorFixture& f, const Strings& args) {
  Strings all = {"check", "--source", f.server.index_url(), "--dest", f.dest.string(), "--config", f.config.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_process(binary_path(), all);
}

json parsed(const ProcessResult& r) {
  INFO(r.all());
  REQUIRE(!r.out.empty());
  return json::parse(r.out);
}

std::uint64_t vib_bytes(const SampleDepot& depot, const Strings& ids) {
  std::uint64_t total = 0;
  for (const std::string& id : ids) total += depot.file(depot.vib_path(id)).size();
  return total;
}

std::uint64_t bundle_bytes(const SampleSite& site, const Strings& ids) {
  std::uint64_t total = 0;
  for (const std::string& id : ids) total += site.files().at(site.bundle_path(id)).size();
  return total;
}

// The metadata entry of `check --json` for the zip at `path`.
json zip_entry(const json& source, const std::string& path) {
  for (const json& zip : source["metadata"])
    if (zip["path"] == path) return zip;
  FAIL("no metadata entry " << path << " in " << source.dump());
  return {};
}

// Every request the server saw was conditional or a HEAD, and none was for a VIB or a bundle's body.
void only_conditional_or_head(const SiteServer& server) {
  REQUIRE_FALSE(server.hits().empty());
  for (const Hit& hit : server.hits()) {
    INFO(hit.method << " " << hit.path << " " << hit.status);
    CHECK((hit.method == "HEAD" || !hit.if_none_match.empty() || !hit.if_modified_since.empty()));
    CHECK_FALSE(is_vib_request(hit));
  }
}

}  // namespace

TEST_CASE("check: a fresh dest: the depot is readable, its zip asked by HEAD, and nothing is created",
          "[check][depot]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  const std::string zip = depot.zip_path("8.0.3");

  ProcessResult text = check(f, {"--esx-version", "8.0.3"});
  INFO(text.all());
  REQUIRE(text.exit_code == 0);
  CHECK(has(text.out, "depot main "));
  CHECK(has(text.out, "ESX_HOST/main/vmw-depot-index.xml"));
  CHECK(has(text.out, "  offers: embeddedEsx 7.0.2, 7.0.3, 8.0.1, 8.0.2, 8.0.3; esxio 8.0.3\n"));
  CHECK(has(text.out, "metadata " + zip + " (embeddedEsx 8.0.3): new, not read, "));
  CHECK(has(text.out, "  8.0.3: 1 metadata entry (1 not read), 0 bulletins, 0 VIBs"));
  CHECK(has(text.out, "--read-metadata reads them"));
  CHECK(has(text.out, "esxmirror: check: 1 readable of 1 source;"));
  CHECK_FALSE(fs::exists(f.dest));

  // The zip was asked for by HEAD only; no VIB at all; the indexes by GET (nothing was known).
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.method << " " << hit.path);
    CHECK(hit.token == "valid");
    CHECK_FALSE(is_vib_request(hit));
    if (ends_with(hit.path, ".zip")) CHECK(hit.method == "HEAD");
  }
  CHECK(f.server.count(f.logged(zip)) == 1);
  CHECK(f.server.body_count(f.logged(zip)) == 0);
  CHECK(secret_leaks(kDepotToken, {}, {{"stdout", text.out}, {"stderr", text.err}}).empty());

  f.server.reset_hits();
  const json report = parsed(check(f, {"--esx-version", "8.0.3", "--json"}));
  CHECK(report["exit_code"] == 0);
  CHECK(report["requests"] == f.server.hits().size());
  REQUIRE(report["sources"].size() == 1);
  const json& source = report["sources"][0];
  CHECK(source["kind"] == "depot");
  CHECK(source["name"] == "main");
  CHECK(source["readable"] == true);
  const json entry = zip_entry(source, zip);
  CHECK(entry["state"] == "new");
  CHECK(entry["size"] == depot.file(zip).size());
  CHECK(entry["version"] == "8.0.3");
  CHECK(entry["product"] == "embeddedEsx");
  REQUIRE(source["versions"].size() == 1);
  CHECK(source["versions"][0]["metadata"] == 1);
  CHECK(source["versions"][0]["metadata_unread"] == 1);
  CHECK(source["versions"][0]["unread_bytes"] == depot.file(zip).size());
  CHECK_FALSE(fs::exists(f.dest));
}

TEST_CASE("check --read-metadata names on stderr each depot document it could not read, as sync does",
          "[check][depot]") {
  DepotFixture f;
  const std::string zip = f.server.depot().zip_path("8.0.3");
  f.server.edit_depot("main",
                      [&](SampleDepot& depot) { depot.set_file(zip, "<html><body>Maintenance</body></html>\n"); });

  ProcessResult r = check(f, {"--esx-version", "8.0", "--read-metadata"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "error: main: "));
  CHECK(has(r.err, fs::path(zip).filename().string()));
  CHECK_FALSE(fs::exists(f.dest));
}

TEST_CASE("check --read-metadata reads a new zip outside the mirror and counts its bulletins, VIBs and bytes",
          "[check][depot]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  const Strings vibs = depot.vibs_for({"8.0"});

  const json report = parsed(check(f, {"--esx-version", "8.0", "--read-metadata", "--json"}));
  CHECK(report["exit_code"] == 0);
  const json& source = report["sources"][0];
  const std::vector<const SampleRelease*> releases = selected_releases(depot, {"8.0"});
  REQUIRE(source["metadata"].size() == releases.size());
  for (const SampleRelease* release : releases) {
    const json entry = zip_entry(source, depot.zip_path(release->version));
    CHECK(entry["state"] == "read");
    CHECK(entry["size"] == depot.file(depot.zip_path(release->version)).size());
  }
  const json& v = source["versions"][0];
  CHECK(v["version"] == "8.0");
  CHECK(v["metadata"] == releases.size());
  CHECK(v["metadata_unread"] == 0);
  CHECK(v["bulletins"] == expected_bulletins(depot, {"8.0"}).size());
  CHECK(v["files"] == vibs.size());
  CHECK(v["bytes"] == vib_bytes(depot, vibs));
  CHECK(v["mirrored"] == 0);
  CHECK(v["to_fetch"] == vibs.size());
  CHECK(v["fetch_bytes"] == vib_bytes(depot, vibs));
  for (const Hit& hit : f.server.hits()) CHECK_FALSE(is_vib_request(hit));
  CHECK_FALSE(fs::exists(f.dest));
}

TEST_CASE(
    "check after a sync: how much is mirrored, only conditional or HEAD requests, nothing written, and a "
    "new release upstream seen without reading it",
    "[check][depot]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0"}).exit_code == 0);
  SampleDepot depot = f.server.depot();
  const Strings vibs = depot.vibs_for({"8.0"});
  const auto before = snapshot(f.dest);
  REQUIRE(before.count(".esxmirror/state.db"));
  f.server.reset_hits();

  ProcessResult r = check(f, {"--esx-version", "8.0", "--json"});
  const json report = parsed(r);
  CHECK(r.exit_code == 0);
  only_conditional_or_head(f.server);
  CHECK(f.server.body_bytes() == 0);  // every document unchanged: 304s and HEADs only
  CHECK(snapshot(f.dest) == before);
  const json& source = report["sources"][0];
  for (const json& zip : source["metadata"]) CHECK(zip["state"] == "unchanged");
  const json& v = source["versions"][0];
  CHECK(v["files"] == vibs.size());
  CHECK(v["mirrored"] == vibs.size());
  CHECK(v["mirrored_bytes"] == vib_bytes(depot, vibs));
  CHECK(v["to_fetch"] == 0);
  CHECK(v["bulletins"] == expected_bulletins(depot, {"8.0"}).size());

  // An update release upstream: the vendor index changed (read again), the new zip is named, not read.
  f.server.edit_depot("main", [](SampleDepot& d) { d.add_update_release("8.0", "8.0.4"); });
  depot = f.server.depot();
  const SampleRelease& added = depot.release("8.0.4");
  f.server.reset_hits();
  ProcessResult probe = check(f, {"--esx-version", "8.0"});
  INFO(probe.all());
  REQUIRE(probe.exit_code == 0);
  only_conditional_or_head(f.server);
  CHECK(has(probe.out, "metadata " + depot.zip_path("8.0.4") + " (embeddedEsx 8.0.4): new, not read"));
  CHECK(has(probe.out, "metadata " + depot.zip_path("8.0.3") + " (embeddedEsx 8.0.3): unchanged"));
  CHECK(has(probe.out, "8.0.4"));
  CHECK(snapshot(f.dest) == before);

  // Read, it says exactly what the next sync fetches.
  const json read = parsed(check(f, {"--esx-version", "8.0", "--read-metadata", "--json"}));
  const json& now = read["sources"][0]["versions"][0];
  CHECK(now["to_fetch"] == added.new_vib_ids.size());
  CHECK(now["fetch_bytes"] == vib_bytes(depot, added.new_vib_ids));
  CHECK(now["mirrored"] == vibs.size());
  CHECK(now["files"] == depot.vibs_for({"8.0"}).size());
  CHECK(snapshot(f.dest) == before);
  const fs::path report_file = f.tmp / "sync.json";
  ProcessResult sync = f.sync({"--esx-version", "8.0", "--report", report_file.string()});
  REQUIRE(sync.exit_code == 0);
  CHECK(json::parse(slurp(report_file))["sources"][0]["vibs_placed"] == now["to_fetch"]);
}

TEST_CASE("check with an expired, invalid or not yet entitled token: exit 4 with sync's words, nothing written",
          "[check][depot][depot-token]") {
  DepotFixture f;
  struct Case {
    std::string token, words;
  };
  for (const Case& c : {Case{kExpiredToken, "HTTP 401: the download token has expired"},
                        Case{"NotAValidTokenAtAll0123456789",
                             "HTTP 403: the download token is invalid, missing, or "
                             "this site is not entitled"}}) {
    INFO(c.words);
    f.write_token(c.token + "\n");
    ProcessResult r = check(f, {"--esx-version", "8.0.3"});
    INFO(r.all());
    CHECK(r.exit_code == 4);
    CHECK(has(r.err, "esxmirror: error: the depot index "));
    CHECK(has(r.err, c.words));
    CHECK(has(r.out, "  unreadable: "));
    CHECK(has(r.out, "exit 4"));
    CHECK_FALSE(fs::exists(f.dest));
    ProcessResult sync = f.sync({"--esx-version", "8.0.3", "--dry-run"});
    CHECK(sync.exit_code == 4);
    // The same error line as sync's.
    const std::string line = r.err.substr(r.err.find("esxmirror: error: "));
    CHECK(has(sync.err, line.substr(0, line.find('\n'))));
    CHECK(secret_leaks(c.token, {}, {{"stdout", r.out}, {"stderr", r.err}}).empty());

    const json report = parsed(check(f, {"--esx-version", "8.0.3", "--json"}));
    CHECK(report["exit_code"] == 4);
    CHECK(report["sources"][0]["readable"] == false);
    CHECK(has(report["sources"][0]["message"].get<std::string>(), c.words));
  }
  // A token the server knows no longer is the same on a mirror that was synced: the state is not touched.
  f.write_token(kDepotToken + "\n");
  REQUIRE(f.sync({"--esx-version", "8.0.3"}).exit_code == 0);
  const auto before = snapshot(f.dest);
  f.write_token(kExpiredToken + "\n");
  ProcessResult r = check(f, {"--esx-version", "8.0.3"});
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, "token has expired"));
  CHECK(snapshot(f.dest) == before);
}

TEST_CASE(
    "check over https: readable with --cacert, and a certificate that cannot be verified is exit 4 with sync's "
    "words, naming the host",
    "[check][depot][https]") {
  TestCa ca, stranger("stranger");
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite(), ca.for_loopback());
  REQUIRE(f.source().rfind("https://127.0.0.1:", 0) == 0);
  ProcessResult good = check(f, {"--esx-version", "8.0.3", "--cacert", ca.cert_file().string()});
  INFO(good.all());
  CHECK(good.exit_code == 0);
  CHECK(has(good.out, "esxmirror: check: 1 readable of 1 source;"));

  ProcessResult refused = check(f, {"--esx-version", "8.0.3", "--cacert", stranger.cert_file().string()});
  INFO(refused.all());
  CHECK(refused.exit_code == 4);
  const std::string words = "TLS: cannot verify the certificate of 127.0.0.1 with the CA bundle";
  CHECK(has(refused.err, "esxmirror: error: cannot read the depot index https://127.0.0.1:"));
  CHECK(has(refused.err, words));
  CHECK(has(refused.out, "  unreadable: "));
  CHECK(secret_leaks(kDepotToken, {}, {{"stdout", refused.out}, {"stderr", refused.err}}).empty());
  CHECK_FALSE(fs::exists(f.dest));
  ProcessResult sync = f.sync({"--esx-version", "8.0.3", "--cacert", stranger.cert_file().string()});
  CHECK(sync.exit_code == 4);
  CHECK(has(sync.err, words));
}

TEST_CASE("check: one unreadable source does not stop the others, and usage errors exit 2 before any request",
          "[check][depot]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  f.write_token(kExpiredToken + "\n");
  ProcessResult r = check(f, {"--source", f.server.index_url(), "--esx-version", "8.0.3", "--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.out, "legacy-html " + f.server.index_url()));
  CHECK(has(r.out, "  3.0.1: 5 bundles"));
  CHECK(has(r.out, "1 readable of 2 sources"));
  CHECK_FALSE(fs::exists(f.dest));

  f.server.reset_hits();
  ProcessResult none = run_process(binary_path(), {"check", "--dest", f.dest.string()});
  CHECK(none.exit_code == 2);
  CHECK(has(none.err, "check needs --source"));
  ProcessResult ftp =
      run_process(binary_path(), {"check", "--source", "ftp://vendor.example/x.xml", "--dest", f.dest.string()});
  CHECK(ftp.exit_code == 2);
  CHECK(has(ftp.err, "is not an http(s) URL"));
  CHECK(f.server.hits().empty());
  CHECK_FALSE(fs::exists(f.dest));
}

TEST_CASE("check of a legacy site: bundle sizes by HEAD on a fresh dest, then what is mirrored and to link",
          "[check][legacy]") {
  MirrorFixture f;
  const SampleSite site = f.server.site();
  const json fresh = parsed(check_site(f, {"--esx-version", "3.0.1", "--json"}));
  CHECK(fresh["exit_code"] == 0);
  const json& source = fresh["sources"][0];
  CHECK(source["kind"] == "legacy-html");
  const Strings offered = source["offered"].get<Strings>();
  CHECK(std::find(offered.begin(), offered.end(), "3.0.2") != offered.end());
  const json& v = source["versions"][0];
  CHECK(v["files"] == k301.size());
  CHECK(v["to_fetch"] == k301.size());
  CHECK(v["sizes_unknown"] == 0);
  CHECK(v["fetch_bytes"] == bundle_bytes(site, k301));
  CHECK(v["mirrored"] == 0);
  for (const std::string& id : k301) {
    INFO(id);
    CHECK(f.server.count(site.bundle_path(id)) == 1);       // one HEAD...
    CHECK(f.server.body_count(site.bundle_path(id)) == 0);  // ...and no body
  }
  CHECK_FALSE(fs::exists(f.dest));

  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  const auto before = snapshot(f.dest);
  f.server.reset_hits();
  ProcessResult text = check_site(f, {"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(text.all());
  REQUIRE(text.exit_code == 0);
  CHECK(has(text.out, "legacy-html " + f.server.index_url() + "\n"));
  const std::string size_301 = esxmirror::util::human_bytes(bundle_bytes(site, k301));
  CHECK(has(text.out, "  3.0.1: 5 bundles (" + size_301 + "); in the mirror 5"));
  CHECK(has(text.out, "to fetch 0 (0 B)"));
  // 3.0.2 shares two bundles with 3.0.1 (linked, no download) and has three of its own.
  CHECK(has(text.out, "  3.0.2: 5 bundles"));
  CHECK(has(text.out, ", 2 to link"));
  only_conditional_or_head(f.server);  // pages revalidated; the three bundles 3.0.2 lacks asked by HEAD
  for (const std::string& id : k302) CHECK(f.server.body_count(site.bundle_path(id)) == 0);
  CHECK(snapshot(f.dest) == before);
}

TEST_CASE("check takes no lock: it runs while a sync holds the mirror, and reads the state beside it",
          "[check][depot]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0.3"}).exit_code == 0);
  f.server.edit_depot("main", [](SampleDepot& d) { d.add_update_release("8.0", "8.0.4"); });
  const SampleDepot depot = f.server.depot();
  const std::string slow = f.logged(depot.vib_path(depot.release("8.0.4").new_vib_ids.front()));
  Fault fault;
  fault.delay_ms = 5000;
  f.server.set_fault(slow, fault);

  Child holder(binary_path(), f.sync_args({"--esx-version", "8.0"}, f.dest), f.tmp.path());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (f.server.count(slow) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(f.server.count(slow) > 0);  // the sync holds the lock and is fetching VIBs
  ProcessResult r = check(f, {"--esx-version", "8.0.3", "--json"});
  INFO(r.all());
  CHECK(r.exit_code == 0);
  const json report = json::parse(r.out);
  CHECK(report["sources"][0]["versions"][0]["mirrored"] == depot.vibs_for({"8.0.3"}).size());
  CHECK(holder.wait().exit_code == 0);
}

TEST_CASE("check reads a depot under its [depot_names] directory: the name, and what that mirror holds",
          "[check][depot][depot-names]") {
  DepotFixture f;
  f.configure("[depot_names]\nmain = \"esxi-main\"\n");
  REQUIRE(f.sync({"--esx-version", "8.0.3"}).exit_code == 0);
  const SampleDepot depot = f.server.depot();
  const json report = parsed(check(f, {"--esx-version", "8.0.3", "--json"}));
  CHECK(report["exit_code"] == 0);
  CHECK(report["sources"][0]["name"] == "esxi-main");
  CHECK(report["sources"][0]["versions"][0]["mirrored"] == depot.vibs_for({"8.0.3"}).size());
  CHECK(report["sources"][0]["versions"][0]["to_fetch"] == 0);
}
