#include "esxmirror/core/legacy_mirror.hpp"

#include <filesystem>
#include <set>
#include <string_view>

#include "esxmirror/bundle/placement.hpp"
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

// A copy may already be in place under the patch's final name (the state was lost): apply_plan adopts it.
bool may_be_adopted(const SyncSettings& settings, const PlannedPatch& planned) {
  std::error_code ignored;
  const fs::path primary =
      fs::path(planned.versions.front()) / bundle::bundle_dir_name(planned.patch.release_date, planned.patch.id);
  return fs::symlink_status(settings.dest / primary, ignored).type() != fs::file_type::not_found;
}

}  // namespace

int mirror_legacy_source(const SyncSettings& settings, const source::Rules& rules, store::Catalog& catalog,
                         RunReport& report, const util::Clock& clock, std::optional<net::Response> index) {
  constexpr std::string_view kUndated = "no parseable release date";
  const std::int64_t now = util::to_unix(clock.now());
  // Read before the crawl: from its first page on, the catalog is written only on the placement thread.
  const DiskState disk = reconcile_disk(settings, catalog, now);
  const PlanInput before = plan_input(settings, {}, catalog.bundles(), disk, now);
  MirrorContext context{settings, catalog, report, clock, disk.placed_versions};
  BundleMirror bundles(context);

  // A patch to fetch starts as soon as its page is read, while later pages are still on the wire (a new
  // patch's row is written first: its bundle's row refers to it). Linking and reporting wait for the
  // whole crawl; adopting a copy already under its final name waits for the transfers (below).
  std::set<std::string> started;
  auto start_early = [&](const PatchRecord& record) {
    if (settings.dry_run) return;
    std::optional<PlannedPatch> planned = plan_patch(record, before);
    if (!planned || (planned->action != Action::fetch && planned->action != Action::replace)) return;
    if (planned->action == Action::fetch && may_be_adopted(settings, *planned)) return;
    started.insert(record.id);
    bundles.post([&, planned = *planned, known = before.bundles.count(record.id) > 0] {
      if (!known) catalog.upsert_patch(planned.patch, now);
      warn_undated({planned}, context, kUndated);
    });
    bundles.add(std::move(*planned));
  };
  DiscoverResult found = read_source(settings, rules, catalog, std::move(index), start_early);
  report.requests += found.requests;
  report.pages_fetched += found.crawl.pages_fetched;
  report.pages_not_modified += found.crawl.pages_not_modified;

  std::map<std::string, store::BundleRow> rows;
  auto size_of = [&](const PlannedPatch& planned) { return known_size(planned, rows); };
  std::vector<PlannedPatch> to_fetch, to_adopt;
  bundles.call([&] {
    record_discovery(found, catalog, now);
    for (std::string& warning : found.crawl.warnings) warn(settings, report, std::move(warning));
    std::vector<PatchRecord> rest;
    for (const PatchRecord& patch : found.crawl.patches) {
      if (!started.count(patch.id)) rest.push_back(patch);
    }
    rows = catalog.bundles();
    std::vector<PlannedPatch> plan = plan_patches(plan_input(settings, std::move(rest), rows, disk, now));
    warn_undated(plan, context, kUndated);
    std::vector<PlannedPatch> now_applied;
    for (PlannedPatch& planned : plan) {
      bool adoptable = !settings.dry_run && planned.action == Action::fetch && may_be_adopted(settings, planned);
      (adoptable ? to_adopt : now_applied).push_back(std::move(planned));
    }
    to_fetch = apply_plan(now_applied, context, size_of);
  });
  for (PlannedPatch& planned : to_fetch) bundles.add(std::move(planned));
  bundles.finish();
  // Adopting hashes every file of the copy: on the placement thread it would hold up the transfers'
  // settling (and so the transfers). What cannot be adopted is fetched now.
  mirror_bundles(apply_plan(to_adopt, context, size_of), context);
  return found.crawl.page_failures;
}

}  // namespace esxmirror
