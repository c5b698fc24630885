// Issue 10 §4: what no published metadata zip of a selected version references any more is removed only
// after the new metadata is published, and only once it has been unreferenced for
// depot_keep_unreferenced_days, so hosts in the middle of a remediation keep finding it.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

// Moves every "unreferenced since" and "unlisted since" time of the state database `days` into the past,
// as if the runs that found them happened that long ago.
void age_cleanup_marks(const fs::path& state, int days) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(state.c_str(), &db) == SQLITE_OK);
  const std::string shift = std::to_string(days * 86400);
  for (const std::string& sql : {"UPDATE depot_vibs SET unreferenced_since = unreferenced_since - " + shift,
                                 "UPDATE depot_documents SET unlisted_since = unlisted_since - " + shift}) {
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  sqlite3_close(db);
}

nlohmann::json source_report(const fs::path& report) { return nlohmann::json::parse(slurp(report))["sources"][0]; }

}  // namespace

TEST_CASE("depot cleanup: VIBs only an unselected release named stay for the grace period, then go with its zip",
          "[depot][depot-cleanup]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  REQUIRE(f.sync({"--esx-version", "8.0.2"}).exit_code == 0);
  const FileTree first = read_tree(f.mirror());

  // Now only 8.0.3: its zip and new VIBs are published; 8.0.2's own VIBs and zip are no longer needed.
  ProcessResult r = f.sync({"--esx-version", "8.0.3", "--report", (f.tmp / "r1.json").string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  nlohmann::json s = source_report(f.tmp / "r1.json");
  CHECK(s["removed"].empty());
  CHECK(s["bytes_unreferenced"].get<std::uint64_t>() > 0);
  // Kept: everything the 8.0.2 mirror had is still there, beside the 8.0.3 files.
  FileTree now = read_tree(f.mirror());
  for (const auto& [path, bytes] : first) {
    if (path == depot.vendor_index_path()) continue;  // rewritten: it lists 8.0.3 only now
    INFO(path);
    CHECK(now.count(path) == 1);
  }
  CHECK(entries_of(f.mirror() / depot.vendor_index_path()) == expected_entries(depot, {"8.0.3"}));
  CHECK(consistency_problems(f.mirror(), depot).empty());
  ProcessResult status = f.command("status");
  CHECK(has(status.out, "unreferenced but kept for now:"));
  CHECK(has(status.out, "main     all"));

  // A week and a day later: removed, and the mirror is exactly a mirror of 8.0.3.
  age_cleanup_marks(f.dest / ".esxmirror" / "state.db", 8);
  f.server.reset_hits();
  r = f.sync({"--esx-version", "8.0.3", "--report", (f.tmp / "r2.json").string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  s = source_report(f.tmp / "r2.json");
  CHECK_FALSE(s["removed"].empty());
  CHECK(s["bytes_removed"].get<std::uint64_t>() > 0);
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
  CHECK(consistency_problems(f.mirror(), depot).empty());
  for (const Hit& hit : f.server.hits()) CHECK_FALSE(is_vib_request(hit));  // removing downloads nothing
  // And the catalog forgot them: a third run removes nothing more and still needs nothing.
  r = f.sync({"--esx-version", "8.0.3", "--report", (f.tmp / "r3.json").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(source_report(f.tmp / "r3.json")["removed"].empty());
}

TEST_CASE("depot cleanup: a VIB referenced again before its grace period ends loses its mark and is never removed",
          "[depot][depot-cleanup]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  REQUIRE(f.sync({"--esx-version", "8.0.2"}).exit_code == 0);
  REQUIRE(f.sync({"--esx-version", "8.0.3", "--report", (f.tmp / "r1.json").string()}).exit_code == 0);
  REQUIRE(source_report(f.tmp / "r1.json")["bytes_unreferenced"].get<std::uint64_t>() > 0);

  // Six days on (inside the grace period) 8.0.2 is selected again: its VIBs are referenced, their marks are
  // cleared...
  age_cleanup_marks(f.dest / ".esxmirror" / "state.db", 6);
  ProcessResult r =
      f.sync({"--esx-version", "8.0.2", "--esx-version", "8.0.3", "--report", (f.tmp / "r2.json").string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(source_report(f.tmp / "r2.json")["bytes_unreferenced"].get<std::uint64_t>() == 0);
  // ...so long after the first mark, nothing is removed.
  age_cleanup_marks(f.dest / ".esxmirror" / "state.db", 30);
  r = f.sync({"--esx-version", "8.0.2", "--esx-version", "8.0.3", "--report", (f.tmp / "r3.json").string()});
  REQUIRE(r.exit_code == 0);
  nlohmann::json s = source_report(f.tmp / "r3.json");
  CHECK(s["removed"].empty());
  CHECK(s["bytes_unreferenced"].get<std::uint64_t>() == 0);
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.2", "8.0.3"}).empty());
}

TEST_CASE(
    "depot cleanup: with depot_keep_unreferenced_days = 0 the run that publishes the new metadata removes "
    "what it no longer needs, after publishing",
    "[depot][depot-cleanup]") {
  DepotFixture f;
  f.configure("depot_keep_unreferenced_days = 0\n");
  const SampleDepot depot = f.server.depot();
  REQUIRE(f.sync({"--esx-version", "7.0"}).exit_code == 0);
  ProcessResult r = f.sync({"--esx-version", "8.0.3", "--report", (f.tmp / "r.json").string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(source_report(f.tmp / "r.json")["removed"].empty());
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
}

TEST_CASE("depot cleanup: nothing is removed in a run that could not read every depot document",
          "[depot][depot-cleanup]") {
  DepotFixture f;
  f.configure("depot_keep_unreferenced_days = 0\n");
  const SampleDepot depot = f.server.depot();
  REQUIRE(f.sync({"--esx-version", "8.0.2"}).exit_code == 0);
  const FileTree first = read_tree(f.mirror());
  Fault broken;
  broken.status = 404;
  broken.status_times = -1;
  f.server.set_fault(f.logged(depot.zip_path("8.0.3")), broken);
  ProcessResult r = f.sync({"--esx-version", "8.0.3", "--report", (f.tmp / "r.json").string()});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(source_report(f.tmp / "r.json")["removed"].empty());
  FileTree now = read_tree(f.mirror());
  for (const auto& [path, bytes] : first) {
    if (path == depot.vendor_index_path()) continue;
    INFO(path);
    CHECK(now.count(path) == 1);
  }
}

TEST_CASE(
    "depot cleanup: `esxmirror prune` removes what is past the grace period without reading the depot, "
    "and never a VIB that a published zip still names",
    "[depot][depot-cleanup][prune]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  REQUIRE(f.sync({"--esx-version", "8.0.2"}).exit_code == 0);
  REQUIRE(f.sync({"--esx-version", "8.0.3"}).exit_code == 0);
  const fs::path state = f.dest / ".esxmirror" / "state.db";
  age_cleanup_marks(state, 8);
  // A damaged mark on a VIB the published 8.0.3 zip names: prune must keep it all the same.
  const std::string kept = depot.vib_path(depot.vibs_for({"8.0.3"}).front());
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(state.c_str(), &db) == SQLITE_OK);
    const std::string sql = "UPDATE depot_vibs SET unreferenced_since = 1 WHERE relpath = '" + kept + "'";
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_changes(db) == 1);
    sqlite3_close(db);
  }
  const FileTree before = read_tree(f.mirror());

  f.server.reset_hits();
  ProcessResult dry = f.command("prune", {"--dry-run"});
  INFO(dry.all());
  REQUIRE(dry.exit_code == 0);
  CHECK(has(dry.out, "would remove"));
  CHECK(has(dry.out, "VIB(s) would be removed"));
  CHECK(tree_differences(read_tree(f.mirror()), before).empty());  // a dry run changes nothing

  ProcessResult pruned = f.command("prune");
  INFO(pruned.all());
  REQUIRE(pruned.exit_code == 0);
  CHECK(has(pruned.out, "esxmirror: prune: removed "));
  CHECK(f.server.hits().empty());  // prune reads no depot document
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
  CHECK(consistency_problems(f.mirror(), depot).empty());
  CHECK(fs::exists(f.mirror() / kept));

  ProcessResult again = f.command("prune");
  CHECK(again.exit_code == 0);
  CHECK(has(again.out, "nothing to remove"));
  ProcessResult status = f.command("status");
  CHECK_FALSE(has(status.out, "unreferenced but kept for now"));
}
