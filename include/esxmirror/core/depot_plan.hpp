#pragma once
// Planning a depot run: which VIBs to fetch, which are in place, which wait out a backoff, and which
// metadata zips can be published. Pure: values in, values out.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/store/depot_catalog.hpp"

namespace esxmirror {

// A selected metadata zip as this run read it (fetched, or unchanged and taken from the catalog).
struct MetadataSnapshot {
  std::string relpath;               // of the zip, relative to the depot root
  std::string version;               // vendor-index entry's version ("8.0.3")
  std::string product;               // "embeddedEsx"
  std::string sha256;                // of the fetched copy
  store::MetadataContents contents;  // its VIBs (inside the depot) and bulletins
};

struct VibWait {
  store::VibRef vib;
  std::string reason;  // the last error
};

struct DepotPlan {
  std::vector<store::VibRef> fetch;    // not in place (new, changed, failed and due, removed by hand)
  std::vector<VibWait> deferred;       // failed before and not due yet
  std::set<std::string> in_place;      // relpaths placed and present on disk
  std::vector<std::string> conflicts;  // one line per VIB two zips describe differently (zip not published)
  std::set<std::string> blocked;       // relpaths of zips with a conflicting VIB
};

struct DepotPlanInput {
  std::vector<MetadataSnapshot> metadata;
  std::map<std::string, store::VibRow> vibs;  // catalog state by relpath
  std::set<std::string> missing_on_disk;      // placed VIBs whose file is gone
  std::int64_t now = 0;
};

// Every VIB the selected zips reference, once (the first zip naming a path wins; a later one describing it
// with another size or digest is a conflict that blocks that zip), sorted by relpath.
DepotPlan plan_vibs(const DepotPlanInput& input);

// True when every VIB of `zip` is in `placed` and the zip is not blocked: it may be published.
bool publishable(const MetadataSnapshot& zip, const std::set<std::string>& placed,
                 const std::set<std::string>& blocked);

}  // namespace esxmirror
