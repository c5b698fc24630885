#pragma once
// SQL on a mirror's state database straight from a test, while no esxmirror runs: to set up what only
// time would make (a bundle placed 40 days ago) and to read what the binary recorded.
#include <cstdint>
#include <filesystem>
#include <string>

namespace esxmirror::testing {

// Runs `statement` (one or more statements) on `db`; returns the first column of the last row it
// produced ("" when none), or "error: ..." naming what failed.
std::string run_sql(const std::filesystem::path& db, const std::string& statement);

// The wall clock in unix seconds, as the binary reads it.
std::int64_t unix_now();

}  // namespace esxmirror::testing
