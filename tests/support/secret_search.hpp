#pragma once
// Searching every byte a run left behind for a secret (a proxy password, a download token).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace esxmirror::testing {

// Where any of `secrets` occurs, one line per place: "<file>: <secret>" for every regular file under
// `roots` (recursively, dot-directories and the state database's -wal/-shm included; a root may be a
// file; missing roots are skipped) and "<name>: <secret>" for each of `texts`. Empty when none does.
std::vector<std::string> places_holding(const std::vector<std::string>& secrets,
                                        const std::vector<std::filesystem::path>& roots,
                                        const std::map<std::string, std::string>& texts = {});

// How many regular files places_holding() reads under `roots`: a test shows its search was not vacuous.
std::size_t files_under(const std::vector<std::filesystem::path>& roots);

}  // namespace esxmirror::testing
