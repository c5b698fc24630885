// Issue 8 §6: the basics of mirroring the online depot with the real binary — a fresh sync of one
// release, the no-op night (conditional requests only, none for a VIB), a new release upstream, the
// report, list and --dry-run — asserted on the mirror's bytes, the exit code and the server's request log.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// What <dest> holds beside the mirrors: only esxmirror's own directory (and the legacy index files).
void check_top_level(const DepotFixture& f, const std::set<std::string>& mirrors) {
  for (const auto& entry : fs::directory_iterator(f.dest)) {
    const std::string name = entry.path().filename().string();
    INFO(name);
    CHECK((mirrors.count(name) || name == ".esxmirror" || name == "index.html" || name == "manifest.json"));
  }
}

std::set<std::string> vib_paths(const SampleDepot& depot, const std::vector<std::string>& ids) {
  std::set<std::string> paths;
  for (const std::string& id : ids) paths.insert(depot.vib_path(id));
  return paths;
}

struct FileIdentity {
  ino_t inode = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

std::map<std::string, FileIdentity> identities(const fs::path& dir) {
  std::map<std::string, FileIdentity> out;
  for (const auto& [rel, bytes] : read_tree(dir)) {
    struct stat st {};
    REQUIRE(::stat((dir / rel).c_str(), &st) == 0);
    out[rel] = {st.st_ino, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }
  return out;
}

// The VIBs of `ids` that `text` names neither by id nor by a bulletin holding them.
std::vector<std::string> unnamed(const std::string& text, const SampleDepot& depot,
                                 const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    bool named = has(text, id);
    for (const SampleRelease& release : depot.releases())
      for (const SampleBulletin& bulletin : release.bulletins)
        if (std::find(bulletin.vib_ids.begin(), bulletin.vib_ids.end(), id) != bulletin.vib_ids.end())
          named = named || has(text, bulletin.id);
    if (!named) out.push_back(id);
  }
  return out;
}

}  // namespace

TEST_CASE("depot: a fresh sync of 8.0.3 mirrors exactly its zip and VIBs, byte-identical, under <dest>/main/",
          "[depot][depot-sync]") {
  DepotFixture f;
  const fs::path report_file = f.tmp / "report.json";
  ProcessResult r = f.sync({"--esx-version", "8.0.3", "--report", report_file.string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  const SampleDepot depot = f.server.depot();
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
  check_top_level(f, {"main"});
  CHECK(consistency_problems(f.mirror(), depot).empty());

  // Each selected VIB fetched once with a body; nothing outside the selection asked for at all.
  const std::vector<std::string> wanted = depot.vibs_for({"8.0.3"});
  const std::set<std::string> wanted_paths = vib_paths(depot, wanted);
  std::set<std::string> zips_asked;
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.method << " " << hit.path << " " << hit.status);
    CHECK(hit.token == "valid");
    if (is_vib_request(hit)) {
      CHECK(wanted_paths.count(hit.path.substr(f.logged("").size())) == 1);
    }
    if (ends_with(hit.path, ".zip")) zips_asked.insert(hit.path);
  }
  for (const std::string& id : wanted) {
    INFO(id);
    CHECK(f.server.body_count(f.logged(depot.vib_path(id))) == 1);
  }
  CHECK(zips_asked == std::set<std::string>{f.logged(depot.zip_path("8.0.3"))});

  // The report: the run, the source, and one entry per bulletin of the zip.
  const json report = json::parse(slurp(report_file));
  CHECK(report["exit_code"] == 0);
  CHECK(report["outcome"] == "ok");
  CHECK(report["requests"] == f.server.hits().size());  // every request the server saw, once
  std::uint64_t vib_bytes = 0;
  for (const std::string& id : wanted) vib_bytes += depot.file(depot.vib_path(id)).size();
  CHECK(report["bytes_downloaded"].get<std::uint64_t>() >= vib_bytes);
  CHECK(report["warnings"].is_array());
  REQUIRE(report["sources"].size() == 1);
  const json& source = report["sources"][0];
  CHECK(source["kind"] == "depot");
  CHECK(source["name"] == "main");
  CHECK(source["exit_code"] == 0);
  CHECK(has(source["url"].get<std::string>(), "ESX_HOST/main/vmw-depot-index.xml"));
  CHECK_FALSE(has(source["url"].get<std::string>(), kDepotToken));
  CHECK(source["vibs_placed"] == wanted.size());
  CHECK(source["vibs_present"] == 0);
  CHECK(source["vibs_failed"] == 0);
  CHECK(source["failed_documents"].empty());
  std::vector<std::string> published = source["published"].get<std::vector<std::string>>();
  for (const std::string& path : {depot.zip_path("8.0.3"), depot.vendor_index_path(), SampleDepot::index_path()}) {
    INFO(path);
    CHECK(std::any_of(published.begin(), published.end(), [&](const std::string& p) { return ends_with(p, path); }));
  }
  std::set<std::string> bulletins;
  for (const json& patch : report["patches"]) {
    if (patch["source"] != "main") continue;
    bulletins.insert(patch["id"].get<std::string>());
    INFO(patch["id"]);
    CHECK(patch["outcome"] == "placed");
  }
  const std::vector<std::string> want_bulletins = expected_bulletins(depot, {"8.0.3"});
  CHECK(bulletins == std::set<std::string>(want_bulletins.begin(), want_bulletins.end()));
}

TEST_CASE("depot: list shows the mirrored bulletins by id with their state, as a table and as JSON",
          "[depot][depot-sync]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0"}).exit_code == 0);
  const std::vector<std::string> bulletins = expected_bulletins(f.server.depot(), {"8.0"});
  REQUIRE(bulletins.size() > 5);

  ProcessResult table = f.command("list");
  INFO(table.all());
  REQUIRE(table.exit_code == 0);
  for (const std::string& id : bulletins) {
    INFO(id);
    const std::size_t at = table.out.find(id + " ");
    REQUIRE(at != std::string::npos);
    const std::size_t end = table.out.find('\n', at);
    CHECK(has(table.out.substr(at, end - at), "placed"));
  }

  ProcessResult listed = f.command("list", {"--json"});
  REQUIRE(listed.exit_code == 0);
  std::map<std::string, std::string> state_of;
  for (const json& item : json::parse(listed.out)) state_of[item["id"]] = item["state"];
  std::set<std::string> ids;
  for (const auto& [id, state] : state_of) ids.insert(id);
  CHECK(ids == std::set<std::string>(bulletins.begin(), bulletins.end()));
  for (const auto& [id, state] : state_of) {
    INFO(id);
    CHECK(state == "placed");
  }
}

TEST_CASE("depot: a second run with nothing new makes only conditional requests, all 304, and none for a VIB",
          "[depot][depot-sync]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0"}).exit_code == 0);
  const SampleDepot depot = f.server.depot();
  const FileTree before = read_tree(f.mirror());
  const auto identity_before = identities(f.mirror());
  f.server.reset_hits();

  const fs::path report_file = f.tmp / "report.json";
  ProcessResult r = f.sync({"--esx-version", "8.0", "--report", report_file.string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  std::multiset<std::string> asked;
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.method << " " << hit.path);
    CHECK_FALSE(is_vib_request(hit));
    CHECK(hit.status == 304);
    CHECK((!hit.if_none_match.empty() || !hit.if_modified_since.empty()));
    asked.insert(hit.path);
  }
  std::multiset<std::string> expected = {f.logged(SampleDepot::index_path()), f.logged(depot.vendor_index_path())};
  for (const SampleRelease* release : selected_releases(depot, {"8.0"}))
    expected.insert(f.logged(depot.zip_path(release->version)));
  CHECK(asked == expected);  // every selected zip revalidated, each document once
  CHECK(f.server.body_bytes() == 0);
  // What the cron mail shows: one line, the summary.
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  CHECK(has(r.out, "esxmirror: 0 placed, 0 replaced, "));

  CHECK(tree_differences(read_tree(f.mirror()), before).empty());
  CHECK(identities(f.mirror()) == identity_before);  // nothing rewritten (depot-design: a no-op writes nothing)

  const json report = json::parse(slurp(report_file));
  CHECK(report["exit_code"] == 0);
  const json& source = report["sources"][0];
  CHECK(source["vibs_placed"] == 0);
  CHECK(source["vibs_present"] == depot.vibs_for({"8.0"}).size());
  CHECK(source["published"].empty());
  for (const json& patch : report["patches"]) {
    INFO(patch["id"]);
    CHECK(patch["outcome"] == "skipped");
  }
}

TEST_CASE("depot: a new update release upstream is the only thing fetched: its new VIBs and its zip",
          "[depot][depot-sync]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0"}).exit_code == 0);
  SampleRelease added;
  f.server.edit_depot("main", [&](SampleDepot& depot) { added = depot.add_update_release("8.0", "8.0.4"); });
  REQUIRE(added.new_vib_ids.size() == 4);
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "8.0"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  const SampleDepot depot = f.server.depot();
  std::set<std::string> vibs_asked, with_body;
  for (const Hit& hit : f.server.hits()) {
    if (is_vib_request(hit)) vibs_asked.insert(hit.path);
    if (hit.body_bytes > 0) with_body.insert(hit.path);
  }
  std::set<std::string> new_vibs;
  for (const std::string& id : added.new_vib_ids) new_vibs.insert(f.logged(depot.vib_path(id)));
  CHECK(vibs_asked == new_vibs);
  for (const std::string& path : new_vibs) CHECK(f.server.count(path) == 1);
  std::set<std::string> changed = new_vibs;
  changed.insert(f.logged(depot.zip_path("8.0.4")));
  changed.insert(f.logged(depot.vendor_index_path()));
  CHECK(with_body == changed);
  CHECK(mirror_differences(f.mirror(), depot, {"8.0"}).empty());
  CHECK(consistency_problems(f.mirror(), depot).empty());
}

TEST_CASE("depot: --dry-run downloads no VIB, writes nothing (the dest is not even created), says what it would fetch",
          "[depot][depot-sync]") {
  DepotFixture f;
  ProcessResult r = f.sync({"--esx-version", "8.0.3", "--dry-run", "-v"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(f.dest));
  for (const Hit& hit : f.server.hits()) CHECK_FALSE(is_vib_request(hit));
  const SampleDepot depot = f.server.depot();
  // What it would fetch: each VIB, or the bulletin holding it.
  CHECK(unnamed(r.all(), depot, depot.vibs_for({"8.0.3"})).empty());

  // Against an existing mirror it changes nothing either.
  REQUIRE(f.sync({"--esx-version", "8.0.3"}).exit_code == 0);
  // The state database's -wal/-shm of a read-only open may appear; nothing else may change.
  const auto written = [&] {
    FileTree tree = read_tree(f.dest);
    std::erase_if(tree, [](const auto& entry) {
      return ends_with(entry.first, "state.db-wal") || ends_with(entry.first, "state.db-shm");
    });
    return tree;
  };
  const FileTree before = written();
  f.server.reset_hits();
  ProcessResult again = f.sync({"--esx-version", "8.0", "--dry-run", "-v"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  for (const Hit& hit : f.server.hits()) CHECK_FALSE(is_vib_request(hit));
  CHECK(tree_differences(written(), before).empty());
  // The VIBs 8.0.1 and 8.0.2 add to the 8.0.3 mirror are what it would fetch.
  std::vector<std::string> more;
  const std::vector<std::string> have = depot.vibs_for({"8.0.3"});
  for (const std::string& id : depot.vibs_for({"8.0"}))
    if (!std::binary_search(have.begin(), have.end(), id)) more.push_back(id);
  REQUIRE_FALSE(more.empty());
  CHECK(unnamed(again.all(), depot, more).empty());
}

TEST_CASE("depot: the kind is detected from the document, and --source-kind forces it", "[depot][depot-sync]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  const fs::path report = f.tmp / "report.json";
  SECTION("forced to depot, a depot is mirrored") {
    ProcessResult r = f.sync({"--esx-version", "8.0.3", "--source-kind", "depot", "--report", report.string()});
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(slurp(report))["sources"][0]["kind"] == "depot");
    CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
  }
  SECTION("forced to legacy-html, a depot index is not a patch index: exit 4, nothing written") {
    ProcessResult r = f.sync({"--esx-version", "8.0.3", "--source-kind", "legacy-html"});
    INFO(r.all());
    CHECK(r.exit_code == 4);
    CHECK(has(r.err, "vmw-depot-index.xml"));
    CHECK(read_tree(f.mirror()).empty());
    for (const Hit& hit : f.server.hits()) CHECK_FALSE(ends_with(hit.path, ".zip"));
  }
  SECTION("forced to depot, the legacy HTML index is refused: exit 4, nothing written") {
    ProcessResult r =
        f.sync_without_source({"--source", f.server.index_url(), "--esx-version", "3.0.1", "--source-kind", "depot"});
    INFO(r.all());
    CHECK(r.exit_code == 4);
    CHECK(has(r.err, SampleSite::index_path()));
    CHECK_FALSE(fs::exists(f.dest / "3.0.1"));
    CHECK(f.server.hits().size() == 1);
  }
  SECTION("detected: the legacy HTML index is mirrored as legacy, beside no depot") {
    ProcessResult r = f.sync_without_source(
        {"--source", f.server.index_url(), "--esx-version", "3.0.1", "--report", report.string()});
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(slurp(report))["sources"][0]["kind"] == "legacy-html");
    CHECK(fs::is_directory(f.dest / "3.0.1"));
    CHECK_FALSE(fs::exists(f.mirror()));
  }
}
