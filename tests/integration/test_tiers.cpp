// Issue 10 §3: tiers of mirrors. A first esxmirror mirrors the sample legacy site and the sample depot;
// a real nginx serves it with the README's recipe (packaging/nginx-esxmirror.conf); a second esxmirror
// mirrors that over plain HTTP (the legacy tree through its manifest.json, the depot as a depot) and ends
// byte-identical; its next run downloads nothing; a third tier, pointed at the second's top, the same.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"
#include "support/nginx_server.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kVersions = {"--esx-version", "3.0.1",         "--esx-version",
                                            "3.0.2",         "--esx-version", "8.0.3"};

// What a mirror serves: every file and link under `dest` but .esxmirror/ (the per-mirror state), files by
// their bytes, links by their target.
FileTree served_tree(const fs::path& dest) {
  FileTree tree;
  for (auto it = fs::recursive_directory_iterator(dest); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(dest).generic_string();
    if (rel == ".esxmirror") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink()) {
      tree[rel] = "-> " + fs::read_symlink(it->path()).generic_string();
    } else if (it->is_regular_file()) {
      tree[rel] = slurp(it->path());
    }
  }
  return tree;
}

// A downstream tier: `esxmirror sync` of `sources` into `dest`, with the report at `report`.
ProcessResult sync_tier(const DepotFixture& f, const std::vector<std::string>& sources, const fs::path& dest,
                        const fs::path& report) {
  std::vector<std::string> args = {"sync",     "--dest",       dest.string(), "--config", f.config.string(),
                                   "--report", report.string()};
  for (const std::string& source : sources) args.insert(args.end(), {"--source", source});
  args.insert(args.end(), kVersions.begin(), kVersions.end());
  return run_process(binary_path(), args);
}

std::string first_file_ending(const FileTree& tree, const std::string& suffix) {
  for (const auto& [path, bytes] : tree) {
    if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        bytes.rfind("-> ", 0) != 0) {
      return path;
    }
  }
  return "";
}

// The second run of a tier: nothing downloaded, every request a 304, as many requests as the report says.
void check_nothing_new(const NginxServer& upstream, const fs::path& report) {
  const json r = json::parse(slurp(report));
  CHECK(r["exit_code"] == 0);
  CHECK(r["bytes_downloaded"] == 0);
  CHECK(r["counts"]["placed"] == 0);
  CHECK(r["counts"]["replaced"] == 0);
  const std::vector<NginxRequest> requests = upstream.requests();
  CHECK_FALSE(requests.empty());
  CHECK(r["requests"] == requests.size());
  // The legacy tree's part of it: one conditional request for the manifest.
  REQUIRE(r["sources"].size() == 2);
  CHECK(r["sources"][0]["kind"] == "mirror");
  CHECK(r["sources"][0]["requests"] == 1);
  CHECK(r["sources"][0]["documents_not_modified"] == 1);
  CHECK(r["sources"][0]["bytes"] == 0);
  for (const NginxRequest& request : requests) {
    INFO(request.method << " " << request.uri);
    CHECK(request.status == 304);
    CHECK(request.body_bytes == 0);
  }
}

}  // namespace

TEST_CASE("tiers: nginx serves a mirror with the README's recipe: content types, validators, .esxmirror/ denied",
          "[tiers]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  ProcessResult first = f.sync({"--source", f.server.index_url(), "--esx-version", "3.0.1", "--esx-version", "8.0.3"});
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  NginxServer nginx(ESXMIRROR_NGINX_RECIPE, f.dest, f.tmp / "nginx");
  const FileTree tree = served_tree(f.dest);

  httplib::Client client("127.0.0.1", nginx.port());
  const std::map<std::string, std::string> types = {{first_file_ending(tree, ".vib"), "application/octet-stream"},
                                                    {"main/vmw-depot-index.xml", "text/xml"},
                                                    {first_file_ending(tree, ".zip"), "application/zip"},
                                                    {"manifest.json", "application/json"}};
  for (const auto& [path, type] : types) {
    INFO(path);
    REQUIRE_FALSE(path.empty());
    auto got = client.Get("/" + path);
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(got->get_header_value("Content-Type") == type);
    CHECK(got->body == tree.at(path));
    const std::string etag = got->get_header_value("ETag");
    CHECK_FALSE(etag.empty());
    CHECK_FALSE(got->get_header_value("Last-Modified").empty());
    auto again = client.Get("/" + path, {{"If-None-Match", etag}});
    REQUIRE(again);
    CHECK(again->status == 304);
  }
  REQUIRE(fs::exists(f.dest / ".esxmirror" / "state.db"));
  for (const char* hidden : {"/.esxmirror/state.db", "/.esxmirror/", "/.esxmirror/lock"}) {
    INFO(hidden);
    auto denied = client.Get(hidden);
    REQUIRE(denied);
    CHECK(denied->status == 403);
  }
}

TEST_CASE(
    "tiers: a mirror of a mirror of a mirror behind nginx ends byte-identical, and its next run downloads "
    "nothing",
    "[tiers]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  const fs::path head_report = f.tmp / "head-office.json";
  std::vector<std::string> tier1_args = {"--source", f.server.index_url(), "--report", head_report.string()};
  tier1_args.insert(tier1_args.end(), kVersions.begin(), kVersions.end());
  ProcessResult tier1 = f.sync(tier1_args);
  INFO(tier1.all());
  REQUIRE(tier1.exit_code == 0);
  const FileTree head_office = served_tree(f.dest);
  // Both trees are there: bundles with a link for a second version, KB notes, the depot.
  REQUIRE(head_office.count("main/vmw-depot-index.xml"));
  REQUIRE_FALSE(first_file_ending(head_office, ".vib").empty());
  REQUIRE(head_office.count("3.0.2/2007-08-14_ESX-1001724") == 1);
  CHECK(head_office.at("3.0.2/2007-08-14_ESX-1001724").rfind("-> ", 0) == 0);
  REQUIRE(head_office.count("3.0.1/2007-03-29_ESX-1000039/contents.xml"));

  NginxServer nginx1(ESXMIRROR_NGINX_RECIPE, f.dest, f.tmp / "nginx1");
  const fs::path site = f.tmp / "site", report = f.tmp / "report.json";

  SECTION("tier 2 from the manifest.json URL, then tier 3 from tier 2's top") {
    const std::vector<std::string> sources = {nginx1.url("manifest.json"), nginx1.url("main/vmw-depot-index.xml")};
    ProcessResult tier2 = sync_tier(f, sources, site, report);
    INFO(tier2.all());
    REQUIRE(tier2.exit_code == 0);
    CHECK(tree_differences(served_tree(site), head_office).empty());
    CHECK(served_tree(site) == head_office);
    const json r = json::parse(slurp(report));
    REQUIRE(r["sources"].size() == 2);
    CHECK(r["sources"][0]["kind"] == "mirror");
    CHECK(r["sources"][0]["documents_fetched"] == 1);
    CHECK(r["sources"][0]["bytes"] > 0);
    CHECK(r["sources"][1]["kind"] == "depot");
    // Every bundle and VIB head office placed, placed here too (a bundle of two versions once, then linked).
    const json head = json::parse(slurp(head_report));
    CHECK(r["counts"]["placed"] == head["counts"]["placed"]);
    CHECK(r["counts"]["failed"] == 0);
    // Each file was fetched once, whole; .esxmirror/ was never asked for.
    std::map<std::string, int> fetched;
    for (const NginxRequest& request : nginx1.requests()) {
      INFO(request.uri);
      CHECK(request.status == 200);
      CHECK(request.uri.rfind("/.esxmirror", 0) != 0);
      ++fetched[request.uri];
    }
    for (const auto& [uri, times] : fetched) {
      INFO(uri);
      CHECK(times == 1);
    }

    nginx1.reset_requests();
    const auto manifest_mtime = fs::last_write_time(site / "manifest.json");
    ProcessResult again = sync_tier(f, sources, site, report);
    INFO(again.all());
    REQUIRE(again.exit_code == 0);
    check_nothing_new(nginx1, report);
    CHECK(served_tree(site) == head_office);
    CHECK(fs::last_write_time(site / "manifest.json") == manifest_mtime);  // unchanged: not rewritten

    NginxServer nginx2(ESXMIRROR_NGINX_RECIPE, site, f.tmp / "nginx2");
    const fs::path branch = f.tmp / "branch";
    // The top of the mirror (its index.html) is told to be an esxmirror: auto finds the manifest beside it.
    const std::vector<std::string> top = {nginx2.url(), nginx2.url("main/vmw-depot-index.xml")};
    ProcessResult tier3 = sync_tier(f, top, branch, report);
    INFO(tier3.all());
    REQUIRE(tier3.exit_code == 0);
    CHECK(json::parse(slurp(report))["sources"][0]["kind"] == "mirror");
    CHECK(tree_differences(served_tree(branch), head_office).empty());
    CHECK(served_tree(branch) == head_office);

    nginx2.reset_requests();
    ProcessResult third_again = sync_tier(f, top, branch, report);
    INFO(third_again.all());
    REQUIRE(third_again.exit_code == 0);
    check_nothing_new(nginx2, report);
    CHECK(served_tree(branch) == head_office);
  }

  SECTION("a new bundle and a new depot release upstream reach the next tier on its next run, and only they") {
    const std::vector<std::string> sources = {nginx1.url("manifest.json"), nginx1.url("main/vmw-depot-index.xml")};
    ProcessResult tier2 = sync_tier(f, sources, site, report);
    INFO(tier2.all());
    REQUIRE(tier2.exit_code == 0);

    // A new update release upstream, which head office adds to its selection (and so does the branch).
    std::vector<std::string> wider = tier1_args;
    f.server.edit_depot("main", [](SampleDepot& d) { d.add_update_release("8.0", "8.0.4"); });
    wider.insert(wider.end(), {"--esx-version", "8.0.4"});
    ProcessResult widened = f.sync(wider);
    INFO(widened.all());
    REQUIRE(widened.exit_code == 0);
    const FileTree grown = served_tree(f.dest);
    REQUIRE(grown.size() > head_office.size());

    nginx1.reset_requests();
    std::vector<std::string> args = {"sync",     "--dest",       site.string(), "--config", f.config.string(),
                                     "--report", report.string()};
    for (const std::string& source : sources) args.insert(args.end(), {"--source", source});
    args.insert(args.end(), kVersions.begin(), kVersions.end());
    args.insert(args.end(), {"--esx-version", "8.0.4"});
    ProcessResult follow = run_process(binary_path(), args);
    INFO(follow.all());
    REQUIRE(follow.exit_code == 0);
    CHECK(served_tree(site) == grown);
    // Only what is new was downloaded: every 200 is a file head office did not have before.
    for (const NginxRequest& request : nginx1.requests()) {
      if (request.status != 200) continue;
      INFO(request.uri);
      const std::string rel = request.uri.substr(1);
      const bool is_index = rel == "main/vmw-depot-index.xml" || rel.find("vmw-esx-index.xml") != std::string::npos ||
                            rel == "manifest.json";
      CHECK((is_index || head_office.count(rel) == 0));
    }
  }
}

TEST_CASE(
    "tiers: a file upstream that is not what its manifest lists fails only its bundle, and a missing manifest is "
    "exit 4",
    "[tiers]") {
  MirrorFixture f;  // the legacy site alone
  ProcessResult tier1 = f.sync({"--esx-version", "3.0.1"});
  INFO(tier1.all());
  REQUIRE(tier1.exit_code == 0);
  // Damaged at head office after its sync (a disk error, a hand edit): same size, other bytes.
  const fs::path damaged = f.dest / "3.0.1" / "2007-03-29_ESX-1000039" / "contents.xml";
  std::string bytes = slurp(damaged);
  REQUIRE_FALSE(bytes.empty());
  bytes[0] = static_cast<char>(bytes[0] ^ 0x20);
  fs::remove(damaged);  // a new inode: the placed copy elsewhere (a hard link in staging, say) stays as it was
  std::ofstream(damaged, std::ios::binary) << bytes;
  NginxServer nginx(ESXMIRROR_NGINX_RECIPE, f.dest, f.tmp / "nginx");

  const fs::path site = f.tmp / "site", report = f.tmp / "report.json";
  std::vector<std::string> args = {"sync",
                                   "--source",
                                   nginx.url("manifest.json"),
                                   "--dest",
                                   site.string(),
                                   "--config",
                                   f.config.string(),
                                   "--report",
                                   report.string(),
                                   "--esx-version",
                                   "3.0.1"};
  ProcessResult r = run_process(binary_path(), args);
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "ESX-1000039"));
  CHECK(has(r.err, "sha-256 mismatch for contents.xml"));
  CHECK_FALSE(fs::exists(site / "3.0.1" / "2007-03-29_ESX-1000039"));
  // Fetched twice (once more after the mismatch), then given up.
  int asked = 0;
  for (const NginxRequest& request : nginx.requests())
    asked += request.uri == "/3.0.1/2007-03-29_ESX-1000039/contents.xml";
  CHECK(asked == 2);
  // Every other bundle is placed as upstream has it.
  const FileTree upstream = served_tree(f.dest), mirrored = served_tree(site);
  for (const auto& [path, content] : upstream) {
    if (path.rfind("3.0.1/", 0) != 0 || path.rfind("3.0.1/2007-03-29_ESX-1000039", 0) == 0) continue;
    INFO(path);
    REQUIRE(mirrored.count(path) == 1);
    CHECK(mirrored.at(path) == content);
  }
  const json parsed = json::parse(slurp(report));
  CHECK(parsed["counts"]["failed"] == 1);
  CHECK(parsed["counts"]["placed"] == 4);

  args[2] = nginx.url("nowhere/manifest.json");
  ProcessResult missing = run_process(binary_path(), args);
  INFO(missing.all());
  CHECK(missing.exit_code == 4);
  CHECK(has(missing.err, "nowhere/manifest.json"));
  CHECK(has(missing.err, "does not exist"));
}
