#include "support/old_release.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <vector>

namespace esxmirror::testing {

namespace fs = std::filesystem;

namespace {

class StateDb {
 public:
  explicit StateDb(const fs::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      std::string message = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + file.string() + ": " + message);
    }
  }
  ~StateDb() { sqlite3_close(db_); }
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // Runs `sql` with text parameters ?1, ?2...; returns every row's columns as text.
  std::vector<std::vector<std::string>> run(const std::string& sql, const std::vector<std::string>& params = {}) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) fail(sql);
    for (std::size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    std::vector<std::vector<std::string>> rows;
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) fail(sql);
    return rows;
  }

 private:
  [[noreturn]] void fail(const std::string& sql) { throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_)); }
  sqlite3* db_ = nullptr;
};

// <dir>/* except the kept archive moved into <dir>/<bundle>/: the tree the old release placed.
void nest(const fs::path& dir, const std::string& bundle, const std::string& archive) {
  const fs::path top = dir / ".nesting";
  fs::create_directory(top);
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name != archive && entry.path() != top) entries.push_back(entry.path());
  }
  for (const fs::path& entry : entries) fs::rename(entry, top / entry.filename());
  fs::rename(top, dir / bundle);
}

// Whether every file the catalog records for `bundle` is at its recorded path under `dir`.
bool all_recorded_files_in(StateDb& db, const fs::path& dir, const std::string& bundle) {
  for (const auto& row : db.run("SELECT relpath FROM bundle_files WHERE patch_id = ?1", {bundle})) {
    if (fs::symlink_status(dir / row[0]).type() != fs::file_type::regular) return false;
  }
  return true;
}

}  // namespace

void make_old_release_mirror(const fs::path& dest, const OldReleaseSecrets* secrets) {
  StateDb db(dest / ".esxmirror" / "state.db");
  auto placed = db.run(
      "SELECT bundles.patch_id, bundles.path, patches.filename, bundles.layout FROM bundles JOIN patches ON "
      "patches.id = bundles.patch_id WHERE bundles.state = 'placed'");
  if (secrets) {
    // As SQLite builds without Debian's defaults leave a file: freed pages kept, deleted cells not zeroed.
    db.run("PRAGMA auto_vacuum = NONE");
    db.run("VACUUM");
    db.run("PRAGMA secure_delete = OFF");
  }
  db.run("BEGIN");
  for (const auto& row : placed) {
    const std::string& id = row[0];
    const std::string archive = row[2];
    const fs::path dir = dest / row[1];
    if (row[3] == "nested") {
      // A run killed while converting it: its file rows are still the old tree's; on disk either that
      // tree, or the flat one (killed after the exchange, before the catalog recorded it).
      if (!all_recorded_files_in(db, dir, id)) nest(dir, id, archive);
      continue;
    }
    nest(dir, id, archive);
    db.run("UPDATE bundle_files SET relpath = ?1 || '/' || relpath WHERE patch_id = ?1 AND relpath != ?2",
           {id, archive});
  }
  db.run("DELETE FROM patches WHERE id NOT IN (SELECT patch_id FROM bundles)");  // it kept no KB notes
  if (secrets) {
    const std::vector<std::string> bases = {secrets->plain_base, secrets->secret_base};
    db.run("UPDATE pages SET url = ?2 WHERE url = ?1", {secrets->stored_index_url, secrets->old_index_url});
    db.run("UPDATE pages SET url = replace(url, ?1, ?2), extracted = replace(extracted, ?1, ?2)", bases);
    db.run("UPDATE patches SET page_url = replace(page_url, ?1, ?2), download_url = replace(download_url, ?1, ?2)",
           bases);
    // Its messages masked the password but kept the rest of the userinfo.
    const std::string user = secrets->secret_base.substr(0, secrets->secret_base.find(':', 7)) + ":***@" +
                             secrets->secret_base.substr(secrets->secret_base.find('@') + 1);
    db.run(
        "UPDATE bundles SET last_error = 'download failed: HTTP 503 from ' || ?1 || 'x.tgz?token=***' "
        "WHERE rowid = (SELECT MIN(rowid) FROM bundles WHERE state != 'placed')",
        {user});
    db.run("UPDATE runs SET message = 'cannot read patch page ' || ?1 || 'download/vi/1-patch.html'", {user});
    // Its updates left the rows they replaced in free pages: a big one (spilling onto overflow pages).
    std::string big;
    while (big.size() < 64 * 1024) big += secrets->old_index_url + "\n";
    db.run("INSERT INTO pages (url, checked_at, changed_at, extracted) VALUES (?1, 0, 0, ?2)",
           {secrets->old_index_url + "#old", big});
    db.run("DELETE FROM pages WHERE url = ?1", {secrets->old_index_url + "#old"});
  }
  db.run("COMMIT");
  db.run("ALTER TABLE bundles DROP COLUMN layout");
  // Whatever later schemas added, the old release did not have.
  for (const auto& row : db.run("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                                "('pages', 'patches', 'patch_versions', 'bundles', 'placements', "
                                "'bundle_files', 'runs', 'sqlite_sequence')")) {
    db.run("DROP TABLE " + row[0]);
  }
  db.run("PRAGMA user_version = 1");
}

}  // namespace esxmirror::testing
