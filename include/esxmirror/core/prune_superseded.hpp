#pragma once
// Which superseded legacy bundles retention may remove (README "Retention"). Pure: catalog rows in,
// decisions out; no clock, no disk.
//
// "B supersedes A" is what the pages say (`Supersedes:`), taken transitively: C superseding B superseding
// A supersedes A. B is *newer* than A when it supersedes A and A does not supersede B (pages that name
// each other count for neither). A placed bundle A may go when, under every version it is needed under
// (each version it is placed under, and each selected version its page lists), a newer bundle is placed
// that has been placed for at least the grace period and is on disk. The newest such bundle under a
// version is never removable in the same pass, so every such version keeps a bundle superseding A.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

struct SupersededPolicy {
  std::int64_t keep_seconds = 0;               // how long a newer bundle must have been placed
  std::vector<std::string> selected_versions;  // the selection; empty: only where bundles are placed
  std::set<std::string> missing_on_disk;       // placed bundles whose directory is gone: never a witness
};

struct SupersededBundle {
  std::string id;
  std::vector<std::string> versions;  // every version it is needed under, sorted; each covered
  std::string reason;                 // "superseded by ESX-1002087 under 3.0.2"
};

// The placed bundles of `entries` that may be removed at unix time `now`, in catalog order.
std::vector<SupersededBundle> superseded_bundles(const std::vector<store::CatalogEntry>& entries,
                                                 const SupersededPolicy& policy, std::int64_t now);

}  // namespace esxmirror
