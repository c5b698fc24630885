#include <algorithm>

#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "publish/content_rows.hpp"

namespace esxmirror::publish {

std::map<std::string, std::vector<Row>> rows_by_version(const std::vector<store::CatalogEntry>& entries) {
  std::map<std::string, std::vector<Row>> rows;
  for (const store::CatalogEntry& entry : entries) {
    if (!entry.bundle || entry.bundle->state != store::BundleState::placed) continue;
    for (const store::PlacementRow& placement : entry.placements)
      rows[placement.version].push_back({&entry, &placement});
  }
  return rows;
}

std::vector<const store::CatalogEntry*> notes_for(const std::vector<store::CatalogEntry>& entries,
                                                  const std::string& version) {
  std::vector<const store::CatalogEntry*> notes;
  for (const store::CatalogEntry& entry : entries) {
    if (entry.bundle || entry.patch.has_bundle()) continue;
    const auto& versions = entry.patch.versions;
    if (std::find(versions.begin(), versions.end(), version) != versions.end()) notes.push_back(&entry);
  }
  return notes;
}

std::vector<DepotListing> depot_listings(store::Database& db) {
  std::vector<DepotListing> listings;
  for (const store::SourceRow& source : store::all_sources(db)) {
    if (source.kind != "depot") continue;
    store::DepotCatalog depot(db, source.name);
    DepotListing listing{source.name, false, {}, 0, std::nullopt};
    for (const auto& [relpath, doc] : depot.documents()) {
      if (!doc.published_sha256) continue;
      if (doc.kind == store::DocumentKind::depot_index) listing.published = true;
      if (doc.kind == store::DocumentKind::metadata) listing.metadata.push_back(source.name + "/" + relpath);
    }
    // One query, not every bulletin's entry loaded: this runs every night, for every depot.
    store::DepotCatalog::PlacedBulletins placed = depot.placed_bulletins();
    listing.bulletins = static_cast<int>(placed.count);
    listing.newest_release = placed.newest_release;
    listings.push_back(std::move(listing));
  }
  return listings;
}

RepositoryContent read_repository(store::Catalog& catalog) {
  return {catalog.entries(), catalog.placed_files(), depot_listings(catalog.database())};
}

std::optional<std::string> newest_release(const RepositoryContent& content) {
  std::optional<std::string> newest;
  auto consider = [&](const std::optional<std::string>& date) {
    if (date && (!newest || *date > *newest)) newest = date;
  };
  for (const auto& [version, rows] : rows_by_version(content.entries)) {
    for (const Row& row : rows) consider(row.entry->patch.release_date);
  }
  for (const DepotListing& depot : content.depots) consider(depot.newest_release);
  return newest;
}

}  // namespace esxmirror::publish
