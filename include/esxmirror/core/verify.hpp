#pragma once
// `verify` and `verify --repair`: re-hash the mirror against the catalog, fetch again what is damaged.
#include <string>
#include <vector>

#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

struct VerifyProblem {
  std::string id;
  std::string path;  // relative to dest
  std::string what;  // "changed", "missing", "size differs", "link broken", "directory missing"
};

// Every placed bundle's recorded files re-hashed; what does not match. Reads only.
std::vector<VerifyProblem> verify_mirror(const SyncSettings& settings, store::Catalog& catalog);

// Fetches the given placed patches again from their recorded download URLs and swaps fresh copies in
// (under the lock, like a sync). Returns the run's report.
RunReport repair_bundles(const SyncSettings& settings, const std::vector<std::string>& ids,
                         const util::Clock& clock = util::system_clock());

}  // namespace esxmirror
