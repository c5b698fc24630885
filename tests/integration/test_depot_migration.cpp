// Issue 8 §1: existing mirrors keep working. A legacy mirror whose state database was written before the
// depot existed (schema 0001, tests/fixtures/state/legacy-0001.sql) is migrated and syncs with zero
// downloads; a legacy source and a depot source then share one destination and one state.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
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

// Runs `sql` on the database at `file` (created when missing); the rows, columns joined by '|', one per
// line, or "error: ..." (the binary is not running meanwhile).
std::string run_sql(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    result = std::string("error: ") + sqlite3_errmsg(db);
  } else {
    char* error = nullptr;
    const auto row = [](void* out, int columns, char** values, char**) {
      std::string& text = *static_cast<std::string*>(out);
      for (int i = 0; i < columns; ++i) text += (i ? "|" : "") + std::string(values[i] ? values[i] : "");
      text += "\n";
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), row, &result, &error) != SQLITE_OK)
      result = std::string("error: ") + (error ? error : "?");
    sqlite3_free(error);
  }
  sqlite3_close(db);
  if (!result.empty() && result.back() == '\n') result.pop_back();
  return result;
}

// A legacy mirror as an earlier release left it: its state database from the fixture dump (the sample
// server's URL filled in), and on disk what that state says is placed — each bundle under its primary
// directory (`nested`: the archive's top directory kept inside, as before schema 2), a link for each
// other version.
void recreate_old_mirror(const DepotFixture& f, const std::string& fixture, bool nested) {
  fs::create_directories(f.dest / ".esxmirror");
  std::string dump = slurp(fs::path(ESXMIRROR_FIXTURES) / "state" / fixture);
  REQUIRE_FALSE(dump.empty());
  for (std::size_t at = dump.find("@BASE_URL@"); at != std::string::npos; at = dump.find("@BASE_URL@", at))
    dump.replace(at, 10, f.server.base_url());
  const fs::path db = f.dest / ".esxmirror" / "state.db";
  REQUIRE(run_sql(db, dump).rfind("error", 0) != 0);
  const SampleSite site = f.server.site();
  std::map<std::string, std::string> primary;  // patch id -> its directory
  const std::string rows = run_sql(db, "SELECT patch_id, version, path, is_link FROM placements ORDER BY is_link");
  REQUIRE(rows.rfind("error", 0) != 0);
  std::istringstream lines(rows);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, version, path, is_link;
    std::getline(fields, id, '|'), std::getline(fields, version, '|'), std::getline(fields, path, '|');
    std::getline(fields, is_link, '|');
    const fs::path dir = f.dest / path;
    if (is_link == "1") {
      fs::create_directories(dir.parent_path());
      fs::create_directory_symlink(fs::path("..") / primary.at(id), dir);
      continue;
    }
    primary[id] = path;
    for (const ArchiveEntry& entry : nested ? site.bundle_contents(id) : site.placed_contents(id)) {
      if (entry.type == ArchiveEntry::Type::directory) fs::create_directories(dir / entry.path);
      if (entry.type != ArchiveEntry::Type::file) continue;
      fs::create_directories((dir / entry.path).parent_path());
      std::ofstream(dir / entry.path, std::ios::binary) << entry.content;
    }
  }
  REQUIRE(primary.size() == 8);
}

// The bundle `id` is placed under `version` as DESIGN §5 lays it out, with exactly the site's files.
bool bundle_matches_site(const DepotFixture& f, const std::string& version, const std::string& id) {
  const SampleSite site = f.server.site();  // a copy: keep it alive while its patch is read
  const SamplePatch& patch = site.patch(id);
  const std::string date = patch.iso_date.empty() ? std::string("undated") : patch.iso_date;
  const fs::path dir = f.dest / version / (date + "_" + id);
  FileTree want;
  for (const ArchiveEntry& entry : site.placed_contents(id))
    if (entry.type == ArchiveEntry::Type::file) want[entry.path] = entry.content;
  return fs::is_directory(dir) && tree_differences(read_tree(dir), want).empty();
}

std::size_t bundle_requests(const DepotFixture& f) {
  const SampleSite site = f.server.site();
  std::size_t n = 0;
  for (const SamplePatch& patch : site.patches())
    if (!site.bundle_path(patch.id).empty()) n += f.server.count(site.bundle_path(patch.id));
  return n;
}

// Every legacy file and link of the mirror under `dest` (the bundles, not the index files), by path.
FileTree legacy_tree(const fs::path& dest) {
  FileTree files;
  for (const std::string& version : kLegacyVersions)
    for (const auto& [rel, bytes] : read_tree(dest / version)) files[version + "/" + rel] = bytes;
  return files;
}

std::vector<std::string> legacy_sync_args(const DepotFixture& f, const fs::path& dest) {
  return {"--source",      f.server.index_url(), "--esx-version", kLegacyVersions[0],
          "--esx-version", kLegacyVersions[1],   "--dest",        dest.string()};
}

std::set<std::string> placed_ids(DepotFixture& f) {
  ProcessResult listed = f.command("list", {"--json", "--state-filter", "placed"});
  REQUIRE(listed.exit_code == 0);
  std::set<std::string> ids;
  for (const json& item : json::parse(listed.out)) ids.insert(item["id"].get<std::string>());
  return ids;
}

}  // namespace

TEST_CASE(
    "depot migration: a legacy mirror whose state predates the depot is migrated and syncs with zero "
    "downloads, then takes a depot source beside it",
    "[depot][depot-migration]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  SECTION("schema 0001: before issue 13 (nested bundle directories) and before the depot") {
    recreate_old_mirror(f, "legacy-0001.sql", true);
  }
  SECTION("schema 0002: after issue 13, before the depot") { recreate_old_mirror(f, "legacy-0002.sql", false); }
  const fs::path db = f.dest / ".esxmirror" / "state.db";
  const int schema_before = std::stoi(run_sql(db, "PRAGMA user_version"));
  REQUIRE(run_sql(db, "SELECT count(*) FROM bundles WHERE state = 'placed'") == "8");
  f.server.reset_hits();

  // esxmirror sync --dest <dest> ... with the legacy source only: migrated, nothing downloaded.
  std::vector<std::string> legacy = legacy_sync_args(f, f.dest);
  ProcessResult r = run_process(binary_path(), [&] {
    std::vector<std::string> all = {"sync", "--config", f.config.string()};
    all.insert(all.end(), legacy.begin(), legacy.end());
    return all;
  }());
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bundle_requests(f) == 0);
  CHECK(std::stoi(run_sql(db, "PRAGMA user_version")) > schema_before);
  std::set<std::string> expected(k301.begin(), k301.end());
  expected.insert(k302.begin(), k302.end());
  CHECK(placed_ids(f) == expected);

  // The mirror is now exactly what a fresh sync of the same site lays out.
  const fs::path clean = f.tmp / "clean";
  std::vector<std::string> fresh = {"sync", "--config", f.config.string()};
  for (const std::string& arg : legacy_sync_args(f, clean)) fresh.push_back(arg);
  REQUIRE(run_process(binary_path(), fresh).exit_code == 0);
  const FileTree converted = legacy_tree(f.dest);
  CHECK(tree_differences(converted, legacy_tree(clean)).empty());

  // It takes a depot source beside it, and the legacy one still downloads nothing.
  f.server.reset_hits();
  std::vector<std::string> both = {"--source",      f.server.index_url(),
                                   "--source",      f.source(),
                                   "--token-file",  f.token_file.string(),
                                   "--esx-version", "3.0.1",
                                   "--esx-version", "3.0.2",
                                   "--esx-version", "8.0.3"};
  ProcessResult mixed = f.sync_without_source(both);
  INFO(mixed.all());
  REQUIRE(mixed.exit_code == 0);
  CHECK(bundle_requests(f) == 0);
  CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
  CHECK(tree_differences(legacy_tree(f.dest), converted).empty());
  std::set<std::string> with_bulletins = placed_ids(f);
  for (const std::string& id : expected_bulletins(f.server.depot(), {"8.0.3"})) expected.insert(id);
  CHECK(with_bulletins == expected);
}

TEST_CASE("depot migration: a legacy source and a depot source in one run share the destination and both work",
          "[depot][depot-migration]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  std::vector<std::string> args = {
      "--source", f.server.index_url(), "--source", f.source(), "--token-file", f.token_file.string(), "--esx-version",
      "3.0.1",    "--esx-version",      "8.0.3"};
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
