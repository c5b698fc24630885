// Issue 8 §1: existing mirrors keep working. A legacy mirror whose state database was written before the
// depot existed (schema 0001, tests/fixtures/state/legacy-0001.sql) is migrated and syncs with zero
// downloads; a legacy source and a depot source then share one destination and one state.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
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

const std::vector<std::string> kLegacyVersions = {"3.0.1", "3.0.2"};

// Runs `sql` on the database at `file` (created when missing); the first column of the last row, or
// "error: ..." (the binary is not running meanwhile).
std::string run_sql(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    result = std::string("error: ") + sqlite3_errmsg(db);
  } else {
    char* error = nullptr;
    const auto last_row = [](void* out, int, char** values, char**) {
      *static_cast<std::string*>(out) = values[0] ? values[0] : "";
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), last_row, &result, &error) != SQLITE_OK)
      result = std::string("error: ") + (error ? error : "?");
    sqlite3_free(error);
  }
  sqlite3_close(db);
  return result;
}

// The legacy bundle directory of `id` under `version`: "<dest>/<version>/<date>_<id>".
fs::path bundle_dir(const DepotFixture& f, const std::string& version, const std::string& id) {
  const SamplePatch& patch = f.server.site().patch(id);
  return f.dest / version / ((patch.iso_date.empty() ? std::string("undated") : patch.iso_date) + "_" + id);
}

bool bundle_matches_site(const DepotFixture& f, const std::string& version, const std::string& id) {
  const fs::path dir = bundle_dir(f, version, id);
  for (const ArchiveEntry& entry : f.server.site().bundle_contents(id))
    if (entry.type == ArchiveEntry::Type::file && slurp(dir / entry.path) != entry.content) return false;
  return fs::is_directory(dir);
}

std::size_t bundle_requests(const DepotFixture& f) {
  const SampleSite site = f.server.site();
  std::size_t n = 0;
  for (const SamplePatch& patch : site.patches()) n += f.server.count(site.bundle_path(patch.id));
  return n;
}

// Every legacy file of the mirror (the bundles, the index files), by path: what the operator serves.
FileTree legacy_tree(const DepotFixture& f) {
  FileTree files;
  for (const std::string& version : kLegacyVersions)
    for (const auto& [rel, bytes] : read_tree(f.dest / version)) files[version + "/" + rel] = bytes;
  return files;
}

std::vector<std::string> legacy_sync_args(const DepotFixture& f) {
  return {"--source", f.server.index_url(), "--esx-version", kLegacyVersions[0], "--esx-version", kLegacyVersions[1]};
}

}  // namespace

TEST_CASE("depot migration: a legacy mirror whose state predates the depot (schema 0001) is migrated and syncs with "
          "zero downloads",
          "[depot][depot-migration]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  // The mirror's files as a legacy sync lays them out; then its state replaced by the one the pre-depot
  // binary wrote for the same site.
  ProcessResult made = f.sync_without_source(legacy_sync_args(f));
  INFO(made.all());
  REQUIRE(made.exit_code == 0);
  const FileTree files = legacy_tree(f);
  REQUIRE(files.size() > 10);
  fs::remove_all(f.dest / ".esxmirror");
  fs::create_directories(f.dest / ".esxmirror");
  std::string dump = slurp(fs::path(ESXMIRROR_FIXTURES) / "state" / "legacy-0001.sql");
  REQUIRE_FALSE(dump.empty());
  for (std::size_t at = dump.find("@BASE_URL@"); at != std::string::npos; at = dump.find("@BASE_URL@", at))
    dump.replace(at, 10, f.server.base_url());
  const fs::path db = f.dest / ".esxmirror" / "state.db";
  REQUIRE(run_sql(db, dump).rfind("error", 0) != 0);
  REQUIRE(run_sql(db, "PRAGMA user_version") == "1");
  REQUIRE(run_sql(db, "SELECT count(*) FROM bundles WHERE state = 'placed'") == "8");
  f.server.reset_hits();

  ProcessResult r = f.sync_without_source(legacy_sync_args(f));
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bundle_requests(f) == 0);
  CHECK(tree_differences(legacy_tree(f), files).empty());
  CHECK(std::stoi(run_sql(db, "PRAGMA user_version")) > 1);
  const json listed = json::parse(f.command("list", {"--json", "--state-filter", "placed"}).out);
  std::set<std::string> placed;
  for (const json& item : listed) placed.insert(item["id"].get<std::string>());
  std::set<std::string> expected(k301.begin(), k301.end());
  expected.insert(k302.begin(), k302.end());
  CHECK(placed == expected);

  // The migrated mirror takes a depot source beside it, and the legacy one still downloads nothing.
  f.server.reset_hits();
  std::vector<std::string> both = legacy_sync_args(f);
  both.insert(both.end(), {"--source", f.source(), "--token-file", f.token_file.string(), "--esx-version", "8.0.3"});
  ProcessResult mixed = f.sync_without_source(both);
  INFO(mixed.all());
  REQUIRE(mixed.exit_code == 0);
  CHECK(bundle_requests(f) == 0);
  CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
  CHECK(tree_differences(legacy_tree(f), files).empty());
}

TEST_CASE("depot migration: a legacy source and a depot source in one run share the destination and both work",
          "[depot][depot-migration]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  std::vector<std::string> args = {"--source", f.server.index_url(), "--source", f.source(), "--token-file",
                                   f.token_file.string(), "--esx-version", "3.0.1", "--esx-version", "8.0.3"};
  const fs::path report = f.tmp / "report.json";
  args.insert(args.end(), {"--report", report.string()});
  ProcessResult r = f.sync_without_source(args);
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  for (const std::string& id : k301) {
    INFO(id);
    CHECK(bundle_matches_site(f, "3.0.1", id));
  }
  CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
  CHECK_FALSE(fs::exists(f.dest / "8.0.3"));  // the legacy pages have no 8.0.3 patch
  const json sources = json::parse(slurp(report))["sources"];
  REQUIRE(sources.size() == 2);
  std::set<std::string> kinds;
  for (const json& source : sources) {
    kinds.insert(source["kind"].get<std::string>());
    CHECK(source["exit_code"] == 0);
  }
  CHECK(kinds == std::set<std::string>{"legacy-html", "depot"});

  // The next run of both fetches nothing: no bundle, no VIB.
  f.server.reset_hits();
  args.resize(args.size() - 2);
  ProcessResult again = f.sync_without_source(args);
  INFO(again.all());
  REQUIRE(again.exit_code == 0);
  CHECK(bundle_requests(f) == 0);
  for (const Hit& hit : f.server.hits()) CHECK_FALSE(is_vib_request(hit));
}
