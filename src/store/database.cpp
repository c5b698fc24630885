#include "esxmirror/store/database.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "esxmirror/store/migrations.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::store {

namespace {

std::string recovery_hint(const std::filesystem::path& path) {
  return fmt::format(
      "move it aside (mv {0} {0}.broken) and run sync again: the mirror is adopted without "
      "fetching again what is already placed",
      path.string());
}

bool is_damage(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT;
}

// A full disk met by a write of the state reads as it does anywhere else in the run: the errno's text and
// what to do ("database or disk is full" alone names neither).
bool is_full(int rc) { return (rc & 0xff) == SQLITE_FULL; }

[[noreturn]] void throw_disk_full(const std::string& where) {
  throw util::StorageError(fmt::format("state database {}: {}", where, util::describe_errno(ENOSPC)));
}

// Opened read-only, SQLite reads a file shorter than its 100-byte header as an empty database (schema 0):
// a non-empty state file must at least start with a whole SQLite header, or it is damage, not "old".
void check_header(const std::filesystem::path& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return;  // not a regular file (SQLite says so itself) or a new, empty one
  char header[16] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(header, sizeof header);
  if (size < 100 || in.gcount() != sizeof header || std::memcmp(header, "SQLite format 3", sizeof header) != 0) {
    throw util::StorageError(
        fmt::format("state database {} is damaged (not a whole SQLite database file, {} bytes): {}", path.string(),
                    size, recovery_hint(path)));
  }
}

// How an in-memory copy reads `path` without leaving a trace beside it. Even read-only, SQLite creates a
// WAL database's -wal and -shm files when they are missing (and leaves them): when they are, no one has the
// database open, and it is read as immutable (no locks, no side files). When they exist (a sync runs), it
// is read through them, as a reader.
std::string copy_source_uri(const std::filesystem::path& path) {
  std::string uri = "file:";
  for (char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  std::error_code ec;
  bool in_use =
      std::filesystem::exists(path.string() + "-wal", ec) || std::filesystem::exists(path.string() + "-shm", ec);
  return uri + (in_use ? "?mode=ro" : "?immutable=1");
}

}  // namespace

// ---- Statement ----

void CloseConnection::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

void FinalizeStatement::operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string where)
    : db_(db), stmt_(stmt), where_(std::move(where)) {}

void Statement::fail(int rc) const {
  if (is_full(rc)) throw_disk_full(where_);
  if (is_damage(rc)) {
    throw util::StorageError(
        fmt::format("state database {} is damaged ({}): {}", where_, sqlite3_errmsg(db_), recovery_hint(where_)));
  }
  throw util::StorageError(fmt::format("state database {}: {} ({})", where_, sqlite3_errmsg(db_), sqlite3_errstr(rc)));
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(rc);
}

void Statement::bind_one(int index, std::string_view value) {
  int rc = sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(rc);
}

void Statement::bind_one(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK) fail(rc);
}

void Statement::bind_one(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_.get(), index);
  if (rc != SQLITE_OK) fail(rc);
}

std::string Statement::text(int column) const {
  const unsigned char* value = sqlite3_column_text(stmt_.get(), column);
  if (!value) return {};
  return std::string(reinterpret_cast<const char*>(value),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return text(column);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

std::optional<std::int64_t> Statement::optional_integer(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return integer(column);
}

// ---- Database ----

Database::Database(const std::filesystem::path& path, Mode mode) : path_(path) {
  bool exists = std::filesystem::exists(path);
  if (mode == Mode::read_only && !exists) {
    throw util::StorageError(
        fmt::format("no state database at {}: run `esxmirror sync` first (or pass --state)", path.string()));
  }
  if (exists) check_header(path);
  int flags = SQLITE_OPEN_FULLMUTEX;
  std::string target = path.string();
  if (mode == Mode::read_write) flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (mode == Mode::read_only) flags |= SQLITE_OPEN_READONLY;
  if (mode == Mode::in_memory) {
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY;
    target = ":memory:";
  }
  sqlite3* opened = nullptr;
  int rc = sqlite3_open_v2(target.c_str(), &opened, flags, nullptr);
  db_.reset(opened);  // even a failed open's handle is closed
  if (rc != SQLITE_OK) fail("cannot open", rc);
  sqlite3_busy_timeout(db_.get(), 5000);
  sqlite3_extended_result_codes(db_.get(), 1);

  if (mode == Mode::in_memory && exists) {
    // Work on a private copy so a dry run changes nothing on disk.
    sqlite3* opened_source = nullptr;
    rc =
        sqlite3_open_v2(copy_source_uri(path).c_str(), &opened_source, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    const ConnectionHandle source(opened_source);
    if (rc == SQLITE_OK) {
      sqlite3_backup* backup = sqlite3_backup_init(db_.get(), "main", source.get(), "main");
      if (backup) {
        sqlite3_backup_step(backup, -1);
        sqlite3_backup_finish(backup);
      }
      rc = sqlite3_errcode(db_.get());
    }
    if (rc != SQLITE_OK) fail("cannot read", rc);
  }

  // A run that writes checks the whole file first, so damage stops it before it changes anything;
  // read-only commands (list, status) stay fast and still fail clearly on the first damaged page.
  if (mode != Mode::read_only) check_integrity();
  if (mode == Mode::read_write) exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  exec("PRAGMA foreign_keys=ON;");
  if (mode == Mode::read_only) {
    int version = schema_version();
    int newest = migrations().empty() ? 0 : migrations().back().number;
    if (version > newest) migrate();  // reports the newer schema clearly
    if (version < newest) {
      throw util::StorageError(
          fmt::format("state database {} has schema {} (this build: {}); run `esxmirror sync` once to upgrade it",
                      path.string(), version, newest));
    }
  } else {
    migrate();
  }
}

void Database::damaged(const std::string& what) const {
  throw util::StorageError(
      fmt::format("state database {} is damaged ({}): {}", path_.string(), what, recovery_hint(path_)));
}

void Database::fail(const std::string& what, int rc) const {
  if (is_full(rc)) throw_disk_full(path_.string());
  std::string detail = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  if (is_damage(rc)) {
    throw util::StorageError(
        fmt::format("state database {} is damaged ({}): {}", path_.string(), detail, recovery_hint(path_)));
  }
  throw util::StorageError(fmt::format("state database {}: {}: {}", path_.string(), what, detail));
}

void Database::check_integrity() {
  // A garbage or truncated file fails here (SQLITE_NOTADB / SQLITE_CORRUPT) rather than mid-run.
  char* message = nullptr;
  std::string result;
  int rc = sqlite3_exec(
      db_.get(), "PRAGMA quick_check(1)",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) = values[0] ? values[0] : "";
        return 0;
      },
      &result, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) fail("cannot read", rc);
  if (result != "ok") {
    for (char& c : result) {
      if (c == '\n' || c == '\r') c = ' ';  // the message is one line
    }
    throw util::StorageError(
        fmt::format("state database {} is damaged ({}): {}", path_.string(), result, recovery_hint(path_)));
  }
}

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    if (is_full(rc)) throw_disk_full(path_.string());
    if (is_damage(rc)) fail("damaged", rc);
    throw util::StorageError(fmt::format("state database {}: {}", path_.string(), detail));
  }
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) fail("cannot prepare a query", rc);
  return Statement(db_.get(), stmt, path_.string());
}

int Database::schema_version() {
  Statement stmt = prepare("PRAGMA user_version");
  stmt.step();
  return static_cast<int>(stmt.integer(0));
}

void Database::migrate() {
  int version = schema_version();
  int newest = migrations().empty() ? 0 : migrations().back().number;
  if (version > newest) {
    throw util::StorageError(
        fmt::format("state database {} has schema version {}, newer than this esxmirror understands "
                    "({}): upgrade esxmirror, or point --state at another file",
                    path_.string(), version, newest));
  }
  bool rewrote_rows = false;
  for (const Migration& migration : migrations()) {
    if (migration.number <= version) continue;
    Transaction transaction(*this);
    exec(migration.sql);
    if (MigrationCode code = migration_code(migration.number)) code(*this);
    exec(fmt::format("PRAGMA user_version = {}", migration.number));
    transaction.commit();
    rewrote_rows = rewrote_rows || version > 0;  // a new, empty database has no old rows
  }
  if (rewrote_rows) compact();
}

void Database::compact() {
  exec("VACUUM");
  // TRUNCATE: the -wal file is emptied, not just marked reusable. A reader holding an old snapshot can
  // keep it from completing; the next checkpoint (at the latest when the last connection closes) does.
  sqlite3_exec(db_.get(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
}

// Savepoints rather than BEGIN so transactions nest (a batch of upserts inside one discovery commit).
Database::Transaction::Transaction(Database& db) : db_(db) { db_.exec("SAVEPOINT esxmirror"); }

Database::Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.db_.get(), "ROLLBACK TO esxmirror; RELEASE esxmirror", nullptr, nullptr, nullptr);
}

void Database::Transaction::commit() {
  db_.exec("RELEASE esxmirror");
  done_ = true;
}

}  // namespace esxmirror::store
