// store/migration_code: what migration 2 does to a state database a release before it wrote: every URL,
// JSON document and message without its secrets, page validators cleared, placed bundles marked nested
// (their directories are converted by the next sync), the rest kept.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/migrations.hpp"
#include "support/process.hpp"

using namespace esxmirror::store;
using esxmirror::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A schema 1 database with what an older release stored for a source given as
// http://alice:S3cretPw@h.example/download/vi/vi3_patches.html?token=Tok3nValue.
void write_schema_1(const fs::path& file) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  const std::string sql = migrations().front().sql + R"sql(
    PRAGMA user_version = 1;
    INSERT INTO pages VALUES ('http://alice:S3cretPw@h.example/download/vi/vi3_patches.html?token=Tok3nValue',
      '"e1"', 'Thu, 29 Mar 2007 00:00:00 GMT', 10, 10, '["http://alice:S3cretPw@h.example/download/vi/1-patch.html"]');
    INSERT INTO pages VALUES ('http://alice:S3cretPw@h.example/download/vi/1-patch.html', '"e2"', '', 10, 10,
      '{"id":"ESX-1","download_url":"http://alice:S3cretPw@h.example/ESX-1.tgz?t=Tok3nValue",
        "warnings":["refused http://alice:S3cretPw@h.example/x.tgz"],"versions":["3.0.1"]}');
    INSERT INTO patches (id, page_url, download_url, filename, first_seen, last_seen) VALUES
      ('ESX-1', 'http://alice:S3cretPw@h.example/download/vi/1-patch.html',
       'http://alice:S3cretPw@h.example/ESX-1.tgz?t=Tok3nValue', 'ESX-1.tgz', 10, 10),
      ('ESX-2', 'http://alice:S3cretPw@h.example/download/vi/2-patch.html', 'http://h.example/ESX-2.tgz', 'ESX-2.tgz',
       10, 10);
    INSERT INTO bundles (patch_id, state, path, updated_at) VALUES ('ESX-1', 'placed', '3.0.1/2007-03-29_ESX-1', 10);
    INSERT INTO bundles (patch_id, state, last_error, updated_at) VALUES
      ('ESX-2', 'failed', 'download failed: HTTP 503 from http://alice:***@h.example/ESX-2.tgz?t=***', 10);
    INSERT INTO runs (started_at, outcome, message) VALUES
      (10, 'partial', 'cannot read patch page http://alice:***@h.example/download/vi/2-patch.html');
  )sql";
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE(
    "migration 2 scrubs every URL, JSON document and message an older release stored, clears the page "
    "validators and marks placed bundles nested",
    "[store][migrations]") {
  TempDir tmp;
  const fs::path file = tmp / "state.db";
  write_schema_1(file);
  REQUIRE(bytes_of(file).find("S3cretPw") != std::string::npos);
  {
    Database db(file, Database::Mode::read_write);
    CHECK(db.schema_version() == migrations().back().number);  // 2, and the ones after it
    Catalog catalog(db);

    const std::string index = "http://h.example/download/vi/vi3_patches.html?token={token}";
    const std::string page = "http://h.example/download/vi/1-patch.html";
    auto pages = catalog.pages();
    REQUIRE(pages.size() == 2);
    REQUIRE(pages.count(index) == 1);
    REQUIRE(pages.count(page) == 1);
    for (const auto& [url, row] : pages) {
      CHECK(row.etag.empty());  // read again once, in full
      CHECK(row.last_modified.empty());
    }
    CHECK(nlohmann::json::parse(pages[index].extracted) == nlohmann::json::array({page}));
    auto detail = nlohmann::json::parse(pages[page].extracted);
    CHECK(detail["download_url"] == "http://h.example/ESX-1.tgz?t={t}");
    CHECK(detail["warnings"][0] == "refused http://h.example/x.tgz");
    CHECK(detail["versions"][0] == "3.0.1");

    CHECK(catalog.patch("ESX-1")->page_url == page);
    CHECK(catalog.patch("ESX-1")->bundle_url() == "http://h.example/ESX-1.tgz?t={t}");
    CHECK(catalog.patch("ESX-2")->bundle_url() == "http://h.example/ESX-2.tgz");
    CHECK(catalog.bundle("ESX-1")->layout == BundleLayout::nested);
    CHECK(catalog.bundle("ESX-2")->layout == BundleLayout::flat);
    CHECK(catalog.bundle("ESX-2")->last_error == "download failed: HTTP 503 from http://h.example/ESX-2.tgz?t=***");
    CHECK(catalog.recent_runs(1)[0].message == "cannot read patch page http://h.example/download/vi/2-patch.html");
  }
  const std::string all = bytes_of(file) + bytes_of(file.string() + "-wal");
  for (const char* secret : {"S3cretPw", "Tok3nValue", "alice"}) {
    INFO(secret);
    CHECK(all.find(secret) == std::string::npos);
  }
}

TEST_CASE("migration 2 on a new database has nothing to scrub, and a current one is not migrated again",
          "[store][migrations]") {
  TempDir tmp;
  {
    Database db(tmp / "state.db", Database::Mode::read_write);
    Catalog catalog(db);
    catalog.save_page({"http://h.example/i.html?token={token}", "\"e\"", "", 1, 1, "[]"});
  }
  Database again(tmp / "state.db", Database::Mode::read_write);
  auto page = Catalog(again).page("http://h.example/i.html?token={token}");
  REQUIRE(page);
  CHECK(page->etag == "\"e\"");  // validators of a current database are kept
}
