#include "esxmirror/core/legacy_mirror.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/adopt.hpp"
#include "esxmirror/core/discover.hpp"
#include "esxmirror/core/mirror.hpp"
#include "esxmirror/core/plan.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

// The bundle's size when an earlier run learned it: the placed copy (for a link), or a download of the
// same bytes the page promises now (for a fetch).
std::optional<std::uint64_t> known_size(const PlannedPatch& planned,
                                        const std::map<std::string, store::BundleRow>& bundles) {
  auto row = bundles.find(planned.patch.id);
  if (row == bundles.end() || !row->second.size) return std::nullopt;
  bool same_bytes = planned.action == Action::link || (planned.action == Action::fetch && planned.patch.md5 &&
                                                       row->second.verified_md5_expected == planned.patch.md5);
  if (!same_bytes) return std::nullopt;
  return static_cast<std::uint64_t>(*row->second.size);
}

}  // namespace

void report_plan_only(const PlannedPatch& planned, std::optional<std::uint64_t> size, RunReport& report) {
  PatchReport entry{.id = planned.patch.id, .versions = planned.versions, .reason = planned.reason};
  if (planned.action == Action::defer) {
    entry.outcome = PatchOutcome::deferred;
    spdlog::warn("{}: failed before ({}); not retried before its backoff ends (`esxmirror retry {}` to try now)",
                 planned.patch.id, planned.reason, planned.patch.id);
  } else if (planned.action != Action::skip) {
    entry.outcome = PatchOutcome::planned;
    entry.action = planned.action == Action::fetch ? "fetch" : planned.action == Action::replace ? "replace" : "link";
    entry.url = util::mask_url(planned.patch.download_url);
    entry.release_date = planned.patch.release_date;
    entry.size = size;
  }
  report.patches.push_back(std::move(entry));
}

PlanInput gather_plan_input(const SyncSettings& settings, std::vector<PatchRecord> patches, store::Catalog& catalog,
                            std::map<std::string, std::set<std::string>>& placed_versions, std::int64_t now) {
  PlanInput input;
  input.patches = std::move(patches);
  input.versions = settings.versions;
  input.classifications = settings.classifications;
  input.bundles = catalog.bundles();
  input.now = now;
  for (const store::CatalogEntry& entry : catalog.entries()) {
    for (const store::PlacementRow& p : entry.placements) placed_versions[entry.patch.id].insert(p.version);
    if (entry.bundle && entry.bundle->state == store::BundleState::placed && entry.bundle->path &&
        !fs::exists(settings.dest / *entry.bundle->path)) {
      input.missing_on_disk.insert(entry.patch.id);  // removed by hand: fetch it again
    }
  }
  // Not placed any more: if fetching it again fails, neither `list` nor the index may show it as placed.
  for (const std::string& id : input.missing_on_disk) catalog.forget_placement(id, now);
  input.placed_versions = placed_versions;
  return input;
}

int mirror_legacy_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> index) {
  std::int64_t now = util::to_unix(clock.now());
  DiscoverResult found = discover(settings, rules, catalog, now, std::move(index));
  report.warnings.insert(report.warnings.end(), found.warnings.begin(), found.warnings.end());
  report.requests += found.requests;
  report.pages_fetched += found.pages_fetched;
  report.pages_not_modified += found.pages_not_modified;

  std::map<std::string, std::set<std::string>> placed_versions;
  std::vector<PlannedPatch> plan =
      plan_patches(gather_plan_input(settings, found.patches, catalog, placed_versions, now));
  for (const PlannedPatch& planned : plan) {
    bool placing = planned.action == Action::fetch || planned.action == Action::replace;
    if (placing && !planned.patch.release_date) {
      report.warnings.push_back(fmt::format("{} has no parseable release date; stored as {}", planned.patch.id,
                                            bundle::bundle_dir_name(std::nullopt, planned.patch.id)));
    }
  }

  MirrorContext context{settings, catalog, report, clock, placed_versions};
  std::vector<PlannedPatch> to_fetch;
  const std::map<std::string, store::BundleRow> bundles = catalog.bundles();
  for (const PlannedPatch& planned : plan) {
    if (settings.dry_run) {
      report_plan_only(planned, known_size(planned, bundles), report);
    } else if (planned.action == Action::link) {
      link_versions(planned, context);
    } else if (planned.action == Action::fetch && adopt_placed_copy(planned, context)) {
      continue;  // already on disk under its final name (state was lost): recorded, not fetched
    } else if (planned.action == Action::fetch || planned.action == Action::replace) {
      to_fetch.push_back(planned);
    } else {
      report_plan_only(planned, known_size(planned, bundles), report);
    }
  }
  mirror_bundles(to_fetch, context);
  return found.page_failures;
}

}  // namespace esxmirror
