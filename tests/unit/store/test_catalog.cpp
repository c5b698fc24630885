// The state database: migrations tracked by PRAGMA user_version, refusals that say how to recover,
// and every catalog query round-tripping what the sync records.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

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

PatchRecord sample_patch(const std::string& id, std::vector<std::string> versions,
                         std::optional<std::string> date = "2007-03-29") {
  PatchRecord p;
  p.id = id;
  p.versions = std::move(versions);
  p.release_date = std::move(date);
  p.classification = "Critical";
  p.supersedes = {"ESX-1000001", "ESX-1000002"};
  p.set_bundle("http://vendor.example/software/vi/" + id + ".tgz", id + ".tgz", "5a5d1185a283150ed7485d1fd90e1b02");
  p.page_url = "http://vendor.example/download/vi/" + id.substr(4) + "-patch.html";
  return p;
}

Placed sample_placed(const std::string& id) {
  Placed placed;
  placed.md5 = "5a5d1185a283150ed7485d1fd90e1b02";
  placed.sha256 = std::string(64, 'e');
  placed.size = 65536;
  placed.verified_md5_expected = placed.md5;
  placed.path = "3.0.1/2007-03-29_" + id;
  placed.placements = {{"3.0.1", placed.path, false}, {"3.0.2", "3.0.2/2007-03-29_" + id, true}};
  placed.files = {{id + "/contents.xml", 120, std::string(64, 'a')},
                  {id + "/descriptor.xml", 80, std::string(64, 'b')}};
  return placed;
}

void set_user_version(const fs::path& file, int version) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(version)).c_str(), nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
}

template <typename F>
std::string storage_error(F&& f) {
  try {
    f();
  } catch (const esxmirror::util::StorageError& e) {
    return e.what();
  }
  FAIL("no storage error");
  return {};
}

}  // namespace

TEST_CASE("migrations are numbered upwards from 1, and a new database ends at the newest", "[store][migrations]") {
  REQUIRE_FALSE(migrations().empty());
  int expected = 1;
  for (const Migration& m : migrations()) {
    CHECK(m.number == expected++);
    CHECK_FALSE(m.sql.empty());
  }
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  CHECK(db.schema_version() == newest_schema());
}

TEST_CASE("reopening a current database migrates nothing and keeps its data", "[store][migrations]") {
  TempDir tmp;
  {
    Database db(tmp / "state.db", Database::Mode::read_write);
    Catalog(db).upsert_patch(sample_patch("ESX-1000039", {"3.0.1"}), 100);
  }
  Database again(tmp / "state.db", Database::Mode::read_write);
  CHECK(again.schema_version() == newest_schema());
  CHECK(Catalog(again).patch("ESX-1000039").has_value());
  Database reader(tmp / "state.db", Database::Mode::read_only);
  CHECK(Catalog(reader).patch("ESX-1000039").has_value());
}

TEST_CASE("a database from a newer esxmirror is refused, saying so", "[store][migrations]") {
  TempDir tmp;
  fs::path file = tmp / "state.db";
  { Database db(file, Database::Mode::read_write); }
  set_user_version(file, newest_schema() + 1);
  std::string message = storage_error([&] { Database db(file, Database::Mode::read_write); });
  CHECK(message.find(file.string()) != std::string::npos);
  CHECK(message.find("newer") != std::string::npos);
  message = storage_error([&] { Database db(file, Database::Mode::read_only); });
  CHECK(message.find("newer") != std::string::npos);
}

TEST_CASE("a read-only command on an older schema says to run sync once", "[store][migrations]") {
  TempDir tmp;
  fs::path file = tmp / "state.db";
  { Database db(file, Database::Mode::read_write); }
  set_user_version(file, 0);
  std::string message = storage_error([&] { Database db(file, Database::Mode::read_only); });
  CHECK(message.find("sync") != std::string::npos);
}

TEST_CASE("a read-only command without a state database names it and says to run sync", "[store]") {
  TempDir tmp;
  std::string message = storage_error([&] { Database db(tmp / "state.db", Database::Mode::read_only); });
  CHECK(message.find((tmp / "state.db").string()) != std::string::npos);
  CHECK(message.find("sync") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "state.db"));
}

TEST_CASE("a file that is not a database is refused with how to move it aside", "[store]") {
  TempDir tmp;
  fs::path file = tmp / "state.db";
  std::ofstream(file) << std::string(8192, 'x');
  std::string message = storage_error([&] { Database db(file, Database::Mode::read_write); });
  CHECK(message.find(file.string()) != std::string::npos);
  CHECK(message.find("mv ") != std::string::npos);
}

TEST_CASE("a full disk met by a write of the state says so and what to do, as anywhere else", "[store]") {
  TempDir dir;
  Database db(dir.path() / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  // SQLite's page cap answers SQLITE_FULL exactly as a full filesystem does.
  auto pages = db.prepare("PRAGMA page_count");
  REQUIRE(pages.step());
  db.exec("PRAGMA max_page_count = " + std::to_string(pages.integer(0) + 1));
  try {
    for (int i = 0; i < 1000; ++i) catalog.upsert_patch(sample_patch("ESX-" + std::to_string(i), {"3.5.0"}), 1);
    FAIL("no SQLITE_FULL");
  } catch (const esxmirror::util::StorageError& e) {
    CHECK_THAT(e.what(), Catch::Contains("state.db") && Catch::Contains("No space left on device") &&
                             Catch::Contains("free space on that filesystem and run again"));
  }
}

TEST_CASE("catalog: a patch round-trips with its versions, date, class, supersedes, url and md5", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  PatchRecord p = sample_patch("ESX-1001724", {"3.0.2", "3.0.1"});
  catalog.upsert_patch(p, 100);
  auto back = catalog.patch("ESX-1001724");
  REQUIRE(back);
  CHECK(*back == p);

  PatchRecord undated = sample_patch("ESX-1002425", {"3.0.2"}, std::nullopt);
  undated.bundle().digest.reset();
  undated.supersedes.clear();
  undated.classification.clear();
  catalog.upsert_patch(undated, 100);
  CHECK(*catalog.patch("ESX-1002425") == undated);
  CHECK_FALSE(catalog.patch("ESX-9999999"));

  // A page that changed: new versions replace the old ones, the bundle row is kept.
  p.versions = {"3.0.1"};
  p.bundle().digest = Digest{Digest::Algorithm::md5, "0123456789abcdef0123456789abcdef"};
  catalog.upsert_patch(p, 200);
  CHECK(*catalog.patch("ESX-1001724") == p);
  REQUIRE(catalog.bundle("ESX-1001724"));
  CHECK(catalog.bundle("ESX-1001724")->state == BundleState::discovered);
}

TEST_CASE("catalog: a bundle goes discovered -> downloading -> failed -> placed, with failures counted",
          "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  catalog.upsert_patch(sample_patch("ESX-1000039", {"3.0.1", "3.0.2"}), 100);
  CHECK(catalog.bundle("ESX-1000039")->state == BundleState::discovered);

  catalog.mark_downloading("ESX-1000039", 110);
  CHECK(catalog.bundle("ESX-1000039")->state == BundleState::downloading);

  catalog.mark_failed("ESX-1000039", "download failed: HTTP 404", 500, 120);
  catalog.mark_failed("ESX-1000039", "download failed: HTTP 503", 900, 130);
  BundleRow failed = *catalog.bundle("ESX-1000039");
  CHECK(failed.state == BundleState::failed);
  CHECK(failed.failures == 2);
  CHECK(failed.last_error == "download failed: HTTP 503");
  CHECK(failed.next_retry_at == 900);

  catalog.mark_placed("ESX-1000039", sample_placed("ESX-1000039"), 140);
  BundleRow placed = *catalog.bundle("ESX-1000039");
  CHECK(placed.state == BundleState::placed);
  CHECK(placed.failures == 0);
  CHECK_FALSE(placed.last_error);
  CHECK_FALSE(placed.next_retry_at);
  CHECK(placed.md5 == "5a5d1185a283150ed7485d1fd90e1b02");
  CHECK(placed.sha256 == std::string(64, 'e'));
  CHECK(placed.size == 65536);
  CHECK(placed.path == "3.0.1/2007-03-29_ESX-1000039");
  CHECK(placed.placed_at == 140);

  std::vector<FileRow> files = catalog.files("ESX-1000039");
  REQUIRE(files.size() == 2);
  CHECK(files[0].relpath == "ESX-1000039/contents.xml");
  CHECK(files[0].size == 120);
  CHECK(files[1].sha256 == std::string(64, 'b'));

  // Downloading again (a repair) does not un-place it; a failed replacement keeps it placed.
  catalog.mark_downloading("ESX-1000039", 150);
  CHECK(catalog.bundle("ESX-1000039")->state == BundleState::placed);
  catalog.mark_failed("ESX-1000039", "md5 mismatch", 1000, 160);
  CHECK(catalog.bundle("ESX-1000039")->state == BundleState::placed);
  CHECK(catalog.bundle("ESX-1000039")->failures == 1);
}

TEST_CASE("catalog: entries list patches by date (undated last) with bundle and placements", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  catalog.upsert_patch(sample_patch("ESX-1002425", {"3.0.2"}, std::nullopt), 100);
  catalog.upsert_patch(sample_patch("ESX-1001724", {"3.0.1", "3.0.2"}, "2007-08-14"), 100);
  catalog.upsert_patch(sample_patch("ESX-1000039", {"3.0.1"}, "2007-03-29"), 100);
  catalog.mark_placed("ESX-1001724", sample_placed("ESX-1001724"), 100);

  std::vector<CatalogEntry> entries = catalog.entries();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].patch.id == "ESX-1000039");
  CHECK(entries[1].patch.id == "ESX-1001724");
  CHECK(entries[2].patch.id == "ESX-1002425");
  CHECK(entries[1].patch.versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  REQUIRE(entries[1].bundle);
  CHECK(entries[1].bundle->state == BundleState::placed);
  REQUIRE(entries[1].placements.size() == 2);
  CHECK_FALSE(entries[1].placements[0].is_link);  // the primary copy first
  CHECK(entries[1].placements[0].version == "3.0.1");
  CHECK(entries[1].placements[1].is_link);
  CHECK(entries[1].placements[1].path == "3.0.2/2007-03-29_ESX-1001724");
  CHECK(entries[0].placements.empty());

  catalog.add_placement("ESX-1001724", {"3.5.0", "3.5.0/2007-03-29_ESX-1001724", true});
  CHECK(catalog.entries()[1].placements.size() == 3);
}

TEST_CASE("catalog: retry makes failed bundles due now and leaves the others alone", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  for (const char* id : {"ESX-1", "ESX-2", "ESX-3"}) catalog.upsert_patch(sample_patch(id, {"3.0.1"}), 100);
  catalog.mark_failed("ESX-1", "HTTP 404", 5000, 100);
  catalog.mark_failed("ESX-2", "HTTP 404", 6000, 100);
  catalog.mark_placed("ESX-3", sample_placed("ESX-3"), 100);

  catalog.make_due({"ESX-1", "ESX-3", "ESX-404"});
  CHECK_FALSE(catalog.bundle("ESX-1")->next_retry_at);
  CHECK(catalog.bundle("ESX-1")->state == BundleState::failed);  // still failed: only its backoff is cleared
  CHECK(catalog.bundle("ESX-2")->next_retry_at == 6000);

  CHECK(catalog.make_all_failed_due() == std::vector<std::string>{"ESX-1", "ESX-2"});
  CHECK_FALSE(catalog.bundle("ESX-2")->next_retry_at);
  CHECK(catalog.bundle("ESX-3")->state == BundleState::placed);
}

TEST_CASE("catalog: retry also clears the backoff of a placed bundle whose replacement failed", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  catalog.upsert_patch(sample_patch("ESX-1", {"3.0.1"}), 100);
  catalog.mark_placed("ESX-1", sample_placed("ESX-1"), 100);
  catalog.mark_failed("ESX-1", "md5 mismatch", 5000, 200);
  REQUIRE(catalog.bundle("ESX-1")->next_retry_at == 5000);

  catalog.make_due({"ESX-1"});
  CHECK_FALSE(catalog.bundle("ESX-1")->next_retry_at);

  catalog.mark_failed("ESX-1", "md5 mismatch", 7000, 300);
  CHECK(catalog.make_all_failed_due() == std::vector<std::string>{"ESX-1"});
  CHECK_FALSE(catalog.bundle("ESX-1")->next_retry_at);
  CHECK(catalog.bundle("ESX-1")->state == BundleState::placed);
}

TEST_CASE("catalog: pages keep their validators and what they yielded", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  PageRow page{"http://vendor.example/download/vi/vi3_patches.html",
               "\"abc\"",
               "Thu, 29 Mar 2007 00:00:00 GMT",
               100,
               90,
               R"({"links":["a","b"]})"};
  catalog.save_page(page);
  auto back = catalog.page(page.url);
  REQUIRE(back);
  CHECK(back->etag == page.etag);
  CHECK(back->last_modified == page.last_modified);
  CHECK(back->checked_at == 100);
  CHECK(back->changed_at == 90);
  CHECK(back->extracted == page.extracted);

  page.etag = "\"def\"";
  page.checked_at = 200;
  catalog.save_page(page);
  CHECK(catalog.pages().size() == 1);
  CHECK(catalog.page(page.url)->etag == "\"def\"");
  CHECK_FALSE(catalog.page("http://vendor.example/other.html"));
}

TEST_CASE("catalog: runs are recorded and listed newest first", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  std::int64_t first = catalog.start_run(1000);
  catalog.finish_run({first, 1000, 1010, "partial", 1, 4, 2, 1, 12345, "ESX-1 failed"});
  std::int64_t second = catalog.start_run(2000);
  CHECK(second > first);

  std::vector<RunRow> runs = catalog.recent_runs(10);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].id == second);
  CHECK(runs[0].outcome == "running");
  CHECK_FALSE(runs[0].finished_at);
  CHECK_FALSE(runs[0].exit_code);
  CHECK(runs[1].id == first);
  CHECK(runs[1].started_at == 1000);
  CHECK(runs[1].finished_at == 1010);
  CHECK(runs[1].outcome == "partial");
  CHECK(runs[1].exit_code == 1);
  CHECK(runs[1].placed == 4);
  CHECK(runs[1].skipped == 2);
  CHECK(runs[1].failed == 1);
  CHECK(runs[1].bytes == 12345);
  CHECK(runs[1].message == "ESX-1 failed");
  CHECK(catalog.recent_runs(1).size() == 1);
}

TEST_CASE("a transaction left uncommitted is rolled back", "[store]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  {
    Database::Transaction transaction(db);
    catalog.upsert_patch(sample_patch("ESX-1", {"3.0.1"}), 100);
  }
  CHECK_FALSE(catalog.patch("ESX-1"));
  {
    Database::Transaction transaction(db);
    catalog.upsert_patch(sample_patch("ESX-2", {"3.0.1"}), 100);
    transaction.commit();
  }
  CHECK(catalog.patch("ESX-2"));
}

TEST_CASE("an in-memory (dry-run) copy changes nothing on disk", "[store]") {
  TempDir tmp;
  fs::path file = tmp / "state.db";
  {
    Database db(file, Database::Mode::read_write);
    Catalog(db).upsert_patch(sample_patch("ESX-1", {"3.0.1"}), 100);
  }
  {
    Database copy(file, Database::Mode::in_memory);
    Catalog catalog(copy);
    CHECK(catalog.patch("ESX-1"));  // sees what is on disk
    catalog.upsert_patch(sample_patch("ESX-2", {"3.0.1"}), 100);
    catalog.mark_failed("ESX-1", "x", 1, 1);
  }
  Database db(file, Database::Mode::read_only);
  Catalog catalog(db);
  CHECK_FALSE(catalog.patch("ESX-2"));
  CHECK(catalog.bundle("ESX-1")->state == BundleState::discovered);
}

TEST_CASE("catalog: a run left running by a killed process is marked abandoned when the next starts",
          "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  std::int64_t killed = catalog.start_run(1000);  // never finished: its process died
  std::int64_t next = catalog.start_run(2000);
  std::vector<RunRow> runs = catalog.recent_runs(10);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].id == next);
  CHECK(runs[0].outcome == "running");
  CHECK(runs[1].id == killed);
  CHECK(runs[1].outcome == "abandoned");
  CHECK_FALSE(runs[1].exit_code);
  CHECK(runs[1].message.find("killed") != std::string::npos);
}

TEST_CASE("catalog: a placed bundle whose directory is gone is forgotten as placed", "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  catalog.upsert_patch(sample_patch("ESX-1", {"3.0.1", "3.0.2"}), 100);
  catalog.mark_placed("ESX-1", sample_placed("ESX-1"), 100);
  catalog.forget_placement("ESX-1", 200);
  BundleRow row = *catalog.bundle("ESX-1");
  CHECK(row.state == BundleState::discovered);
  CHECK_FALSE(row.path);
  CHECK(catalog.entries()[0].placements.empty());
  CHECK(catalog.files("ESX-1").empty());
  // Its next failure makes it failed (not placed), and a failed bundle is left alone.
  catalog.mark_failed("ESX-1", "HTTP 404", 300, 200);
  CHECK(catalog.bundle("ESX-1")->state == BundleState::failed);
  catalog.forget_placement("ESX-1", 300);
  CHECK(catalog.bundle("ESX-1")->state == BundleState::failed);
}

TEST_CASE("catalog: a KB note is a patch without a bundle row, and a placed bundle's layout is recorded and made flat",
          "[store][catalog]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  Catalog catalog(db);
  PatchRecord note = sample_patch("ESX-1003176", {"3.0.2"});
  note.artifacts.clear();
  catalog.upsert_patch(note, 100);
  CHECK(catalog.patch("ESX-1003176"));
  CHECK_FALSE(catalog.bundle("ESX-1003176"));
  CHECK(catalog.bundles().empty());

  catalog.upsert_patch(sample_patch("ESX-1", {"3.0.1"}), 100);
  Placed placed = sample_placed("ESX-1");
  placed.layout = BundleLayout::nested;
  catalog.mark_placed("ESX-1", placed, 100);
  CHECK(catalog.bundle("ESX-1")->layout == BundleLayout::nested);
  catalog.mark_flat("ESX-1", {{"contents.xml", 120, std::string(64, 'a')}});
  CHECK(catalog.bundle("ESX-1")->layout == BundleLayout::flat);
  REQUIRE(catalog.files("ESX-1").size() == 1);
  CHECK(catalog.files("ESX-1")[0].relpath == "contents.xml");
  CHECK(catalog.bundle("ESX-1")->state == BundleState::placed);
}
