#pragma once
// Transfer -> verify -> unpack -> place -> record, for every patch the plan says to fetch.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

struct MirrorContext {
  const SyncSettings& settings;
  store::Catalog& catalog;
  RunReport& report;
  const util::Clock& clock;
  // id -> versions it is already placed under (kept as links when a bundle is replaced).
  const std::map<std::string, std::set<std::string>>& placed_versions;
};

// Fetches, verifies, unpacks and places each `fetch` / `replace` patch, recording each one as it
// completes (a crash loses only what was in flight). One patch's failure never stops the others;
// throws Error(storage) when the disk is full or the mirror cannot be written at all.
void mirror_bundles(const std::vector<PlannedPatch>& work, MirrorContext& context);

// Adds links under the selected versions an already placed patch lacks.
void link_versions(const PlannedPatch& planned, MirrorContext& context);

}  // namespace esxmirror
