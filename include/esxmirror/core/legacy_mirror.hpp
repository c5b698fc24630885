#pragma once
// Mirroring one legacy HTML source: discover its pages, plan, adopt, link, fetch, verify, unpack, place.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// Mirrors settings.source_url into the catalog and the mirror, adding what it did to `report`; returns
// how many detail pages could not be read. `index`: the index's response when the caller already read
// it. Throws Error(source) when the index cannot be read at all, Error(storage) when the mirror cannot be
// written, Error(interrupted) on SIGINT/SIGTERM.
int mirror_legacy_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> index);

// Reports a patch nothing is done to: skipped, deferred (warned), or in a dry run what would be done, with
// `size` when known. Shared by the legacy and the upstream-mirror sources.
void report_plan_only(const PlannedPatch& planned, std::optional<std::uint64_t> size, RunReport& report);

// What plan_patches needs for `patches` against the catalog, and `placed_versions` (patch id -> versions it
// is placed under). Not pure: a placed bundle whose directory was removed by hand loses its placement here,
// so that if fetching it again fails, neither `list` nor the index shows it as placed.
PlanInput gather_plan_input(const SyncSettings& settings, std::vector<PatchRecord> patches, store::Catalog& catalog,
                            std::map<std::string, std::set<std::string>>& placed_versions, std::int64_t now);

}  // namespace esxmirror
