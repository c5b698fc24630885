#pragma once
// SQLite with RAII handles and typed binding (DESIGN §3 store/). Every failure throws
// util::StorageError naming the database file.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "esxmirror/util/storage_error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace esxmirror::store {

// The two SQLite handle kinds, each owned by one unique_ptr: closing a connection waits for nothing
// (sqlite3_close_v2), finalizing a statement is always safe.
struct CloseConnection {
  void operator()(sqlite3* db) const noexcept;
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* stmt) const noexcept;
};
using ConnectionHandle = std::unique_ptr<sqlite3, CloseConnection>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string where);
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  // Binds parameters 1..N in order; std::optional binds NULL when empty.
  template <typename... Args>
  Statement& bind(const Args&... args) {
    reset();
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }
  // Advances to the next row; false when done.
  bool step();
  // Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }
  void reset();

  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::int64_t integer(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;

 private:
  void bind_one(int index, std::string_view value);
  void bind_one(int index, const std::string& value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, const char* value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, std::int64_t value);
  void bind_one(int index, int value) { bind_one(index, static_cast<std::int64_t>(value)); }
  void bind_one(int index, std::uint64_t value) { bind_one(index, static_cast<std::int64_t>(value)); }
  void bind_one(int index, bool value) { bind_one(index, static_cast<std::int64_t>(value)); }
  void bind_one(int index, std::nullopt_t);
  template <typename T>
  void bind_one(int index, const std::optional<T>& value) {
    if (value) {
      bind_one(index, *value);
    } else {
      bind_one(index, std::nullopt);
    }
  }
  [[noreturn]] void fail(int rc) const;

  sqlite3* db_;
  StatementHandle stmt_;
  std::string where_;
};

class Database {
 public:
  enum class Mode {
    read_write,  // create if missing, migrate to the newest schema
    read_only,   // must exist; refused if its schema is older or newer than this build's
    in_memory    // a private copy of `path` (if it exists) in memory, made without writing beside it (no
                 // -wal or -shm left): for --dry-run and check
  };
  // Opens the state database; WAL mode, foreign keys on, busy timeout. Refuses a file that is not a
  // database, is damaged, or has a newer schema than this build, with a message saying how to recover.
  Database(const std::filesystem::path& path, Mode mode);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  int schema_version();
  const std::filesystem::path& path() const { return path_; }
  // Throws util::StorageError saying the database is damaged (`what` names the damage), with the hint to move
  // it aside (the mirror is then adopted without downloads).
  [[noreturn]] void damaged(const std::string& what) const;

  // RAII transaction: commits in commit(), rolls back when destroyed uncommitted.
  class Transaction {
   public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

   private:
    Database& db_;
    bool done_ = false;
  };

 private:
  void migrate();
  // After a migration rewrote rows: rebuilds the file (VACUUM) and empties the WAL, so what the old rows
  // held (secrets) is not left in free pages or old WAL frames.
  void compact();
  void check_integrity();
  [[noreturn]] void fail(const std::string& what, int rc) const;

  std::filesystem::path path_;
  ConnectionHandle db_;  // a constructor that throws still closes it: it is a member
};

}  // namespace esxmirror::store
