#pragma once
// The passes around planning that the legacy source and the upstream-mirror source share:
// reconcile_disk (the catalog against what is on disk) → plan_input → plan_patches → apply_plan (report
// or link or adopt; what is left is fetched by the source's own transfer).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "esxmirror/core/mirror.hpp"
#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

// What the mirror holds, as the catalog says and the disk confirms.
struct DiskState {
  std::map<std::string, std::set<std::string>> placed_versions;  // patch id -> versions it is placed under
  std::set<std::string> missing_on_disk;                         // placed, but its directory was removed by hand
};

// Reads the placements and checks each placed bundle's directory. Not pure: a placed bundle whose
// directory is gone loses its placement here, so that if fetching it again fails, neither `list` nor
// the index shows it as placed.
DiskState reconcile_disk(const SyncSettings& settings, store::Catalog& catalog, std::int64_t now);

// What plan_patches needs: the discovered `patches`, the selection, the catalog's bundle rows and `disk`.
PlanInput plan_input(const SyncSettings& settings, std::vector<PatchRecord> patches,
                     std::map<std::string, store::BundleRow> bundles, const DiskState& disk, std::int64_t now);

// Warns of each patch `plan` places without a release date ("<id> has <missing>; stored as undated_<id>"):
// its directory name says so, and the operator should know why.
void warn_undated(const std::vector<PlannedPatch>& plan, MirrorContext& context, std::string_view missing);

// Reports a patch this run transfers nothing for into context.report: skipped, deferred (warned), or in a
// dry run what would be done, with `size` when known.
void report_without_transfer(const PlannedPatch& planned, std::optional<std::uint64_t> size, MirrorContext& context);

// Goes through `plan` in order: in a dry run every patch is only reported; otherwise a link is made, a
// fetch whose copy is already in place is adopted, a skip or defer is reported, and what must be fetched
// or replaced is returned, in plan order. `size_of` gives a patch's size when it is known.
std::vector<PlannedPatch> apply_plan(const std::vector<PlannedPatch>& plan, MirrorContext& context,
                                     const std::function<std::optional<std::uint64_t>(const PlannedPatch&)>& size_of);

}  // namespace esxmirror
