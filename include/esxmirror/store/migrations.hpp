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

}  // namespace esxmirror::store
