#pragma once
// The schema migrations compiled in from schema/NNNN_name.sql (see cmake/embed_schema.cmake).
#include <string>
#include <vector>

namespace esxmirror::store {

struct Migration {
  int number;        // becomes PRAGMA user_version once applied
  std::string name;  // file name without extension
  std::string sql;
};

// All migrations, in ascending order.
const std::vector<Migration>& migrations();

class Database;
// The part of a migration SQL cannot do (rewriting URLs inside text and JSON), run in the migration's
// transaction right after its SQL. Throws util::StorageError like any query.
using MigrationCode = void (*)(Database& db);
// The code of migration `number`; nullptr when it is SQL only.
MigrationCode migration_code(int number);

}  // namespace esxmirror::store
