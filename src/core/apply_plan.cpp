#include "esxmirror/core/apply_plan.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/adopt.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

DiskState reconcile_disk(const SyncSettings& settings, store::Catalog& catalog, std::int64_t now) {
  DiskState disk;
  for (const store::CatalogEntry& entry : catalog.entries()) {
    for (const store::PlacementRow& p : entry.placements) disk.placed_versions[entry.patch.id].insert(p.version);
    if (entry.bundle && entry.bundle->state == store::BundleState::placed && entry.bundle->path &&
        !fs::exists(settings.dest / *entry.bundle->path)) {
      disk.missing_on_disk.insert(entry.patch.id);  // removed by hand: fetch it again
    }
  }
  for (const std::string& id : disk.missing_on_disk) catalog.forget_placement(id, now);
  return disk;
}

PlanInput plan_input(const SyncSettings& settings, std::vector<PatchRecord> patches,
                     std::map<std::string, store::BundleRow> bundles, const DiskState& disk, std::int64_t now) {
  return {.patches = std::move(patches),
          .versions = settings.versions,
          .classifications = settings.classifications,
          .bundles = std::move(bundles),
          .placed_versions = disk.placed_versions,
          .missing_on_disk = disk.missing_on_disk,
          .now = now};
}

void warn_undated(const std::vector<PlannedPatch>& plan, MirrorContext& context, std::string_view missing) {
  for (const PlannedPatch& planned : plan) {
    bool placing = planned.action == Action::fetch || planned.action == Action::replace;
    if (placing && !planned.patch.release_date) {
      warn(context.settings, context.report,
           fmt::format("{} has {}; stored as {}", planned.patch.id, missing,
                       bundle::bundle_dir_name(std::nullopt, planned.patch.id)));
    }
  }
}

void report_without_transfer(const PlannedPatch& planned, std::optional<std::uint64_t> size, MirrorContext& context) {
  RunReport& report = context.report;
  PatchReport entry{.id = planned.patch.id, .versions = planned.versions, .reason = planned.reason};
  if (planned.action == Action::defer) {
    entry.outcome = PatchOutcome::deferred;
    warn(context.settings, report,
         fmt::format("{}: failed before ({}); not retried before its backoff ends (`esxmirror retry {}` to try now)",
                     planned.patch.id, planned.reason, planned.patch.id));
  } else if (planned.action != Action::skip) {
    entry.outcome = PatchOutcome::planned;
    entry.action = planned.action == Action::fetch ? "fetch" : planned.action == Action::replace ? "replace" : "link";
    entry.url = util::mask_url(planned.patch.bundle().url);
    entry.release_date = planned.patch.release_date;
    entry.size = size;
  }
  report.patches.push_back(std::move(entry));
}

std::vector<PlannedPatch> apply_plan(const std::vector<PlannedPatch>& plan, MirrorContext& context,
                                     const std::function<std::optional<std::uint64_t>(const PlannedPatch&)>& size_of) {
  std::vector<PlannedPatch> to_fetch;
  for (const PlannedPatch& planned : plan) {
    if (context.settings.dry_run) {
      report_without_transfer(planned, size_of(planned), context);
      continue;
    }
    switch (planned.action) {
      case Action::link:
        link_versions(planned, context);
        break;
      case Action::fetch:
        // Already on disk under its final name (the state was lost): recorded, not fetched.
        if (!adopt_placed_copy(planned, context)) to_fetch.push_back(planned);
        break;
      case Action::replace:
        to_fetch.push_back(planned);
        break;
      case Action::skip:
      case Action::defer:
        report_without_transfer(planned, size_of(planned), context);
        break;
    }
  }
  return to_fetch;
}

}  // namespace esxmirror
