#include "support/state_sql.hpp"

#include <sqlite3.h>

#include <chrono>

namespace esxmirror::testing {

std::string run_sql(const std::filesystem::path& db_path, const std::string& statement) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    result = std::string("error: cannot open: ") + sqlite3_errmsg(db);
  } else {
    char* error = nullptr;
    int rc = sqlite3_exec(
        db, statement.c_str(),
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) = values[0] ? values[0] : "";
          return 0;
        },
        &result, &error);
    if (rc != SQLITE_OK) result = std::string("error: ") + (error ? error : "?");
    sqlite3_free(error);
  }
  sqlite3_close(db);
  return result;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace esxmirror::testing
