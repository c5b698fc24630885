#pragma once
// The published face of the mirror: <dest>/index.html for people, <dest>/manifest.json for tools.
#include <filesystem>
#include <string>
#include <vector>

#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror::publish {

// What the mirror serves of one online depot.
struct DepotListing {
  std::string name;                   // "main": served under <dest>/main/
  bool published = false;             // its depot index is in place
  std::vector<std::string> metadata;  // published metadata zips, relative to dest ("main/esx/vmw/...zip")
  int bulletins = 0;                  // bulletins whose VIBs are all in place
};

// Every depot the state knows, as the mirror serves it now.
std::vector<DepotListing> depot_listings(store::Database& db);

// The manifest: every placed bundle per version (id, date, classification, size, md5, sha256, path).
std::string render_manifest(const std::vector<store::CatalogEntry>& entries, const std::vector<DepotListing>& depots,
                            util::TimePoint generated);
// The same as a readable HTML page, one table per version, and under it the version's KB notes (pages
// without a bundle: what the vendor says to do instead), linked to the vendor's page.
// Depots get a table of their own: the depot index URL hosts and vCenter take, and what it holds.
std::string render_index_html(const std::vector<store::CatalogEntry>& entries, const std::vector<DepotListing>& depots,
                              util::TimePoint generated);

// Writes both files atomically (temporary file + rename). Lists only placed bundles, never .esxmirror/.
// The temporary files go to `temp_dir` when given (created if missing; on dest's filesystem, e.g. the
// staging directory), so a crash mid-write leaves nothing in dest; else beside the files.
// Throws Error(storage) when they cannot be written.
void write_repository_index(const std::filesystem::path& dest, const std::vector<store::CatalogEntry>& entries,
                            const std::vector<DepotListing>& depots, util::TimePoint generated,
                            const std::filesystem::path& temp_dir = {});

}  // namespace esxmirror::publish
