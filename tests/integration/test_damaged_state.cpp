// Issue 4.6: a damaged state database. A truncated or garbage state.db stops every command with exit 5
// and a message saying how to recover (move it aside); a database from a newer schema is refused without
// being touched; a mirror whose state is gone is adopted by the next run without fetching any bundle again.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"
#include "support/state_sql.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

fs::path state_db(const MirrorFixture& f) { return f.dest / ".esxmirror" / "state.db"; }

std::size_t bundle_requests(const SiteServer& server) {
  std::size_t n = 0;
  for (const Hit& hit : server.hits()) {
    if (hit.path.size() > 4 && hit.path.compare(hit.path.size() - 4, 4, ".tgz") == 0) ++n;
  }
  return n;
}

std::set<std::string> placed_ids(MirrorFixture& f) {
  ProcessResult list = f.command("list", {"--state-filter", "placed", "--json"});
  REQUIRE(list.exit_code == 0);
  std::set<std::string> ids;
  for (const auto& entry : nlohmann::json::parse(list.out)) ids.insert(entry["id"].get<std::string>());
  return ids;
}

// A mirror of 3.0.1 and 3.0.2 whose state is then closed cleanly (its WAL checkpointed into state.db).
void mirror_both(MirrorFixture& f) {
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  REQUIRE_FALSE(fs::exists(state_db(f).string() + "-wal"));
}

void check_mirror_intact(const MirrorFixture& f) {
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  for (const std::string& id : k302) CHECK(f.bundle_matches_site("3.0.2", id));
}

// Every command that reads the state refuses the damaged database with exit 5 and the recovery hint.
void check_refused_with_hint(MirrorFixture& f, const std::string& what) {
  const std::string db = state_db(f).string();
  std::vector<ProcessResult> results = {f.sync({"--esx-version", "3.0.1"}), f.command("list"), f.command("status"),
                                        f.command("verify")};
  for (const ProcessResult& r : results) {
    INFO(r.all());
    CHECK(r.exit_code == 5);
    CHECK(has(r.err, "esxmirror: error: state database " + db));
    CHECK(has(r.err, what));
    CHECK(has(r.err, "mv " + db + " " + db + ".broken"));
    CHECK(has(r.err, "adopted without fetching again"));
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  }
}

}  // namespace

TEST_CASE(
    "damaged state: a truncated or garbage state.db exits 5 saying how to recover, following the advice, the "
    "mirror is adopted without fetching any bundle again",
    "[state]") {
  MirrorFixture f;
  mirror_both(f);
  const std::string original = slurp(state_db(f));
  REQUIRE(original.size() > 8192);
  SECTION("truncated to half its size") {
    std::ofstream(state_db(f), std::ios::binary | std::ios::trunc) << original.substr(0, original.size() / 2);
  }
  SECTION("truncated inside its header page") {
    std::ofstream(state_db(f), std::ios::binary | std::ios::trunc) << original.substr(0, 60);
  }
  SECTION("overwritten with garbage") {
    std::mt19937 random(5);
    std::string garbage(original.size(), '\0');
    for (char& c : garbage) c = static_cast<char>(random() & 0xff);
    std::ofstream(state_db(f), std::ios::binary | std::ios::trunc) << garbage;
  }
  SECTION("garbage in the middle, a valid header") {
    std::string damaged = original;
    for (std::size_t i = 4096; i < damaged.size(); i += 7) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    std::ofstream(state_db(f), std::ios::binary | std::ios::trunc) << damaged;
  }
  f.server.reset_hits();
  const std::string damaged = slurp(state_db(f));
  check_refused_with_hint(f, "is damaged");
  CHECK(slurp(state_db(f)) == damaged);  // left as it was, for inspection
  CHECK(f.server.hits().empty());        // refused before anything else was done
  check_mirror_intact(f);

  // The advice works: move it aside, run again; every bundle already on disk is adopted, none fetched.
  fs::rename(state_db(f), state_db(f).string() + ".broken");
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bundle_requests(f.server) == 0);
  CHECK(placed_ids(f) == std::set<std::string>{"ESX-1000039", "ESX-1000050", "ESX-1000070", "ESX-1001724",
                                               "ESX-1002082", "ESX-1002087", "ESX-1002424", "ESX-1002425"});
  check_mirror_intact(f);
}

TEST_CASE(
    "damaged state: a value the schema allows no other way (a garbled state or layout) is damage: exit 5 with "
    "the hint, never a usage error",
    "[state]") {
  MirrorFixture f;
  mirror_both(f);
  std::string column, value;
  SECTION("a bundle's state") { column = "state", value = "plbced"; }
  SECTION("a bundle's layout") { column = "layout", value = "flap"; }
  // What a flipped byte inside a row does: the file is sound, the value impossible.
  REQUIRE(run_sql(state_db(f), "PRAGMA ignore_check_constraints = ON; UPDATE bundles SET " + column + " = '" + value +
                                   "' WHERE patch_id = 'ESX-1000039'; SELECT " + column +
                                   " FROM bundles WHERE patch_id = 'ESX-1000039'") == value);
  f.server.reset_hits();
  check_refused_with_hint(f, "damaged");
  ProcessResult retry = f.command("retry", {"ESX-1000039"});
  INFO(retry.all());
  CHECK(retry.exit_code == 5);
  CHECK(has(retry.err, "mv " + state_db(f).string()));
  check_mirror_intact(f);
}

TEST_CASE("damaged state: a database from a newer schema version is refused clearly and left untouched", "[state]") {
  MirrorFixture f;
  mirror_both(f);
  REQUIRE(run_sql(state_db(f), "PRAGMA user_version = 999; PRAGMA user_version") == "999");
  const std::string before = slurp(state_db(f));
  f.server.reset_hits();

  const std::string db = state_db(f).string();
  for (const ProcessResult& r : {f.sync({"--esx-version", "3.0.1"}), f.command("list"), f.command("status")}) {
    INFO(r.all());
    CHECK(r.exit_code == 5);
    CHECK(has(r.err, "esxmirror: error: state database " + db +
                         " has schema version 999, newer than this esxmirror "
                         "understands"));
    CHECK(has(r.err, "upgrade esxmirror"));
  }
  CHECK(f.server.hits().empty());
  CHECK(run_sql(state_db(f), "PRAGMA user_version") == "999");
  CHECK(slurp(state_db(f)) == before);
  check_mirror_intact(f);
}

TEST_CASE("damaged state: a mirror whose state was deleted is adopted on the next run without fetching any bundle",
          "[state]") {
  MirrorFixture f;
  mirror_both(f);
  std::set<std::string> served = f.served_files();
  fs::remove(state_db(f));
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2", "-v"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bundle_requests(f.server) == 0);
  CHECK(has(r.err, "adopted the copy already at 3.0.1/2007-03-29_ESX-1000039"));
  CHECK(placed_ids(f) == std::set<std::string>{"ESX-1000039", "ESX-1000050", "ESX-1000070", "ESX-1001724",
                                               "ESX-1002082", "ESX-1002087", "ESX-1002424", "ESX-1002425"});
  // The shared bundles keep one copy and a link for the other version.
  CHECK(fs::is_symlink(f.dest / "3.0.2" / "2007-08-14_ESX-1001724"));
  CHECK(f.served_files() == served);
  check_mirror_intact(f);

  // And the catalog is whole again: the next run is all 304s, no bundle, and `verify` agrees with the disk.
  f.server.reset_hits();
  ProcessResult again = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  CHECK(bundle_requests(f.server) == 0);
  ProcessResult verify = f.command("verify");
  INFO(verify.all());
  CHECK(verify.exit_code == 0);
}

TEST_CASE(
    "damaged state: a bundle renamed into place but not yet recorded when the run died is adopted with the "
    "digests verified before the rename",
    "[state][crash]") {
  MirrorFixture f;
  mirror_both(f);
  const std::string manifest_before = slurp(f.dest / "manifest.json");
  // What a crash between the rename and the record leaves: the copy under its final name, the bundle row
  // `verified` with the archive's digests, no placements, no file hashes.
  const std::string db = state_db(f).string();
  for (const char* id : {"ESX-1000039", "ESX-1002424"}) {  // with and without an md5 on the page
    const std::string where = std::string(" WHERE patch_id = '") + id + "'";
    REQUIRE(run_sql(db, "UPDATE bundles SET state = 'verified', path = NULL, placed_at = NULL" + where +
                            "; DELETE FROM placements" + where + "; DELETE FROM bundle_files" + where +
                            "; SELECT count(*) FROM placements" + where) == "0");
  }
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2", "-v"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bundle_requests(f.server) == 0);
  CHECK(has(r.err, "ESX-1000039: adopted the copy already at 3.0.1/2007-03-29_ESX-1000039"));
  CHECK(has(r.err, "ESX-1002424: adopted the copy already at 3.0.2/2007-11-20_ESX-1002424"));
  SampleSite site = f.server.site();
  ProcessResult list = f.command("list", {"--json"});
  for (const auto& entry : nlohmann::json::parse(list.out)) {
    const std::string id = entry["id"].get<std::string>();
    if (id != "ESX-1000039" && id != "ESX-1002424") continue;
    INFO(id);
    CHECK(entry["state"] == "placed");
    CHECK(entry["md5"] == site.md5_of(id));
  }
  // The published manifest is the same as before the crash: digests, sizes, paths.
  auto versions = [](const std::string& text) { return nlohmann::json::parse(text)["versions"]; };
  CHECK(versions(slurp(f.dest / "manifest.json")) == versions(manifest_before));
  CHECK(f.command("verify").exit_code == 0);
  check_mirror_intact(f);
}

TEST_CASE(
    "damaged state: with the state deleted and a new patch on the site, the copies on disk are adopted and only "
    "the new bundle is fetched",
    "[state]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  fs::remove(state_db(f));
  SamplePatch added;
  added.id = "ESX-1004000";
  added.kb = "1004000";
  added.versions = {"3.0.1"};
  added.date_text = "1/15/08";
  added.iso_date = "2008-01-15";
  f.server.edit([&](SampleSite& site) { site.add_patch(added); });
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "-v"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bundle_requests(f.server) == 1);
  CHECK(f.server.body_count(f.server.site().bundle_path("ESX-1004000")) == 1);
  CHECK(has(r.err, "adopted the copy already at 3.0.1/2007-03-29_ESX-1000039"));
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1004000"));
  std::set<std::string> expected(k301.begin(), k301.end());
  expected.insert("ESX-1004000");
  CHECK(placed_ids(f) == expected);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
}
