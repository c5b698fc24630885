#include "esxmirror/core/legacy_mirror.hpp"

#include <filesystem>

#include "esxmirror/core/apply_plan.hpp"
#include "esxmirror/core/discover.hpp"
#include "esxmirror/core/mirror.hpp"
#include "esxmirror/core/notices.hpp"
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
  bool same_bytes = planned.action == Action::link || (planned.action == Action::fetch && planned.patch.md5() &&
                                                       row->second.verified_md5_expected == planned.patch.md5());
  if (!same_bytes) return std::nullopt;
  return static_cast<std::uint64_t>(*row->second.size);
}

}  // namespace

int mirror_legacy_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> index) {
  std::int64_t now = util::to_unix(clock.now());
  DiscoverResult found = discover(settings, rules, catalog, now, std::move(index));
  for (std::string& warning : found.warnings) warn(settings, report, std::move(warning));
  report.requests += found.requests;
  report.pages_fetched += found.pages_fetched;
  report.pages_not_modified += found.pages_not_modified;

  const DiskState disk = reconcile_disk(settings, catalog, now);
  const std::map<std::string, store::BundleRow> bundles = catalog.bundles();
  std::vector<PlannedPatch> plan = plan_patches(plan_input(settings, found.patches, bundles, disk, now));
  MirrorContext context{settings, catalog, report, clock, disk.placed_versions};
  warn_undated(plan, context, "no parseable release date");
  std::vector<PlannedPatch> to_fetch =
      apply_plan(plan, context, [&](const PlannedPatch& planned) { return known_size(planned, bundles); });
  mirror_bundles(to_fetch, context);
  return found.page_failures;
}

}  // namespace esxmirror
