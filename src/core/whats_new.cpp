// What is new: the bundles and bulletins a run made available, read back from the catalog, most urgent first.
#include "esxmirror/core/whats_new.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>

#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror {

namespace {

NewItem bundle_item(const store::CatalogEntry& entry) {
  const store::BundleRow& bundle = *entry.bundle;
  NewItem item{.id = entry.patch.id,
               .classification = entry.patch.classification,
               .release_date = entry.patch.release_date,
               .placed_at = bundle.placed_at.value_or(0)};
  if (!entry.patch.supersedes.empty()) item.summary = "supersedes " + util::join(entry.patch.supersedes, ", ");
  for (const store::PlacementRow& p : entry.placements) item.versions.push_back(p.version);
  std::sort(item.versions.begin(), item.versions.end());
  item.replaced = bundle.first_placed_at && bundle.placed_at && *bundle.placed_at > *bundle.first_placed_at;
  return item;
}

NewItem bulletin_item(const std::string& source, const store::BulletinEntry& entry) {
  const store::BulletinRow& b = entry.bulletin;
  return {.id = b.id,
          .source = source,
          .classification = b.severity,
          .category = b.category,
          .release_date = b.release_date,
          .summary = b.summary,
          .versions = b.versions,
          .placed_at = entry.placed_at.value_or(0)};
}

bool is_placed(const store::CatalogEntry& entry) {
  return entry.bundle && entry.bundle->state == store::BundleState::placed && entry.bundle->placed_at;
}

// 0: critical or security; 1: important; 2: the rest.
int urgency(const NewItem& item) {
  const std::string level = util::to_lower(util::trim(item.classification));
  if (level == "critical" || level == "security" || util::to_lower(util::trim(item.category)) == "security") return 0;
  return level == "important" ? 1 : 2;
}

}  // namespace

void order_by_urgency(std::vector<NewItem>& items) {
  std::stable_sort(items.begin(), items.end(), [](const NewItem& a, const NewItem& b) {
    // Newest first: the dates compared the other way round; an undated item ("") sorts after every date.
    return std::make_tuple(urgency(a), b.release_date.value_or(""), a.id, a.source) <
           std::make_tuple(urgency(b), a.release_date.value_or(""), b.id, b.source);
  });
}

std::vector<NewItem> record_new_items(store::Database& db, const RunReport& report, std::int64_t now) {
  std::set<std::string> placed_ids;
  for (const PatchReport& p : report.patches) {
    bool placed = p.outcome == PatchOutcome::placed || p.outcome == PatchOutcome::replaced;
    if (placed && p.source.empty()) placed_ids.insert(p.id);
  }
  std::vector<NewItem> items;
  if (!placed_ids.empty()) {
    for (const store::CatalogEntry& entry : store::Catalog(db).entries()) {
      if (placed_ids.count(entry.patch.id) && is_placed(entry)) items.push_back(bundle_item(entry));
    }
  }
  for (const SourceReport& source : report.sources) {
    if (source.kind != "depot" || source.exit_code == ExitCode::source) continue;
    for (const store::BulletinEntry& entry : store::DepotCatalog(db, source.name).record_placed_bulletins(now)) {
      items.push_back(bulletin_item(source.name, entry));
    }
  }
  order_by_urgency(items);
  return items;
}

std::vector<NewItem> new_since(store::Database& db, std::int64_t since) {
  std::vector<NewItem> items;
  for (const store::CatalogEntry& entry : store::Catalog(db).entries()) {
    if (is_placed(entry) && *entry.bundle->placed_at >= since) items.push_back(bundle_item(entry));
  }
  std::set<std::string> depots;  // by name: two URLs mirrored under one name over time share its tables
  for (const store::SourceRow& source : store::all_sources(db)) {
    if (source.kind != "depot" || !depots.insert(source.name).second) continue;
    for (const store::BulletinEntry& entry : store::DepotCatalog(db, source.name).bulletin_entries()) {
      if (entry.placed_at && *entry.placed_at >= since) items.push_back(bulletin_item(source.name, entry));
    }
  }
  order_by_urgency(items);
  return items;
}

}  // namespace esxmirror
