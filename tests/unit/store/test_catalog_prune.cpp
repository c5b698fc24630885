// Retention in the state database: a placed bundle goes pruning (decided, rows kept for the removal),
// then pruned (no path, placements or file rows; the row stays so sync does not fetch it again), and
// the retention migration (schema/*_retention.sql rebuilds the bundles table) keeps every row of a schema-3
// database.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <map>

#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/migrations.hpp"
#include "support/process.hpp"

using namespace esxmirror;
using namespace esxmirror::store;
using esxmirror::testing::TempDir;
namespace fs = std::filesystem;

namespace {

int newest_schema() { return migrations().back().number; }

PatchRecord sample_patch(const std::string& id, std::vector<std::string> versions) {
  PatchRecord p;
  p.id = id;
  p.versions = std::move(versions);
  p.release_date = "2007-03-29";
  p.set_bundle("http://vendor.example/software/vi/" + id + ".tgz", id + ".tgz", "5a5d1185a283150ed7485d1fd90e1b02");
  p.page_url = "http://vendor.example/download/vi/" + id.substr(4) + "-patch.html";
  return p;
}

// Placed under 3.0.1, linked under 3.0.2, two files of 120 + 80 bytes.
Placed sample_placed(const std::string& id) {
  Placed placed;
  placed.md5 = "5a5d1185a283150ed7485d1fd90e1b02";
  placed.sha256 = std::string(64, 'e');
  placed.size = 65536;
  placed.verified_md5_expected = placed.md5;
  placed.path = "3.0.1/2007-03-29_" + id;
  placed.placements = {{"3.0.1", placed.path, false}, {"3.0.2", "3.0.2/2007-03-29_" + id, true}};
  placed.files = {{"contents.xml", 120, std::string(64, 'a')}, {"descriptor.xml", 80, std::string(64, 'b')}};
  return placed;
}

}  // namespace

TEST_CASE("catalog: retention takes a placed bundle to pruning, then pruned without placements or files",
          "[store][catalog][prune]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  catalog.upsert_patch(sample_patch("ESX-1", {"3.0.1", "3.0.2"}), 100);
  catalog.upsert_patch(sample_patch("ESX-2", {"3.0.1"}), 100);
  catalog.mark_placed("ESX-1", sample_placed("ESX-1"), 100);
  CHECK(catalog.bundle_bytes() == std::map<std::string, std::int64_t>{{"ESX-1", 200}});

  // ESX-2 is not placed: the decision leaves it alone.
  catalog.mark_pruning({{"ESX-1", {"3.0.1", "3.0.2"}, "superseded by ESX-3 under 3.0.1, 3.0.2"},
                        {"ESX-2", {"3.0.1"}, "superseded by ESX-3 under 3.0.1"}},
                       200);
  CHECK(catalog.bundle("ESX-2")->state == BundleState::discovered);
  BundleRow deciding = *catalog.bundle("ESX-1");
  CHECK(deciding.state == BundleState::pruning);
  CHECK(deciding.pruned_at == 200);
  CHECK(deciding.pruned_versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(deciding.pruned_reason == "superseded by ESX-3 under 3.0.1, 3.0.2");
  CHECK(deciding.path);  // what the removal needs stays until it is done
  CHECK(catalog.entries()[0].placements.size() == 2);
  CHECK(catalog.files("ESX-1").size() == 2);

  catalog.mark_pruned("ESX-1", 300);
  BundleRow done = *catalog.bundle("ESX-1");
  CHECK(done.state == BundleState::pruned);
  CHECK_FALSE(done.path);
  CHECK_FALSE(done.placed_at);
  CHECK(done.pruned_versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(catalog.entries()[0].placements.empty());
  CHECK(catalog.files("ESX-1").empty());
  CHECK(catalog.bundle_bytes().empty());
  CHECK(bundle_state_from_string("pruned") == BundleState::pruned);
  CHECK(std::string(to_string(BundleState::pruning)) == "pruning");

  // Fetched and placed again later (a version it was not superseded under was selected): placed, and no
  // trace of the pruning; mark_pruned of a bundle placed meanwhile keeps its rows.
  catalog.mark_placed("ESX-1", sample_placed("ESX-1"), 400);
  BundleRow again = *catalog.bundle("ESX-1");
  CHECK(again.state == BundleState::placed);
  CHECK_FALSE(again.pruned_at);
  CHECK(again.pruned_versions.empty());
  catalog.mark_pruned("ESX-1", 500);
  CHECK(catalog.bundle("ESX-1")->state == BundleState::placed);
  CHECK(catalog.entries()[0].placements.size() == 2);
  CHECK(catalog.files("ESX-1").size() == 2);
}

TEST_CASE("the retention migration keeps every bundle row of a schema-3 database and lets bundles be pruned",
          "[store][migrations][prune]") {
  TempDir tmp;
  const fs::path file = tmp / "state.db";
  {
    Database db(file, Database::Mode::read_write);
    Catalog catalog(db);
    catalog.upsert_patch(sample_patch("ESX-1", {"3.0.1", "3.0.2"}), 100);
    catalog.mark_placed("ESX-1", sample_placed("ESX-1"), 100);
    catalog.upsert_patch(sample_patch("ESX-2", {"3.0.1"}), 100);
    catalog.mark_failed("ESX-2", "HTTP 404", 900, 150);
  }
  // Back to schema 3 (the depot's) as a release before retention left it: the old table, without the new states.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw,
                       "CREATE TABLE old AS SELECT patch_id, state, failures, last_error, next_retry_at, md5, sha256, "
                       "size, verified_md5_expected, path, placed_at, updated_at, layout FROM bundles; "
                       "DROP TABLE bundles; ALTER TABLE old RENAME TO bundles; "
                       "ALTER TABLE depot_bulletins DROP COLUMN placed_at; PRAGMA user_version = 3;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  Database db(file, Database::Mode::read_write);
  CHECK(db.schema_version() == newest_schema());
  Catalog catalog(db);
  BundleRow placed = *catalog.bundle("ESX-1");
  CHECK(placed.state == BundleState::placed);
  CHECK(placed.path == "3.0.1/2007-03-29_ESX-1");
  CHECK(placed.placed_at == 100);
  CHECK(placed.first_placed_at == 100);  // migration 5: first placed when last placed, as far as is known
  CHECK(placed.md5 == "5a5d1185a283150ed7485d1fd90e1b02");
  CHECK(catalog.entries()[0].placements.size() == 2);
  BundleRow failed = *catalog.bundle("ESX-2");
  CHECK(failed.state == BundleState::failed);
  CHECK(failed.failures == 1);
  CHECK(failed.next_retry_at == 900);
  catalog.mark_pruning({{"ESX-1", {"3.0.1"}, "superseded"}}, 200);
  CHECK(catalog.bundle("ESX-1")->state == BundleState::pruning);
}
