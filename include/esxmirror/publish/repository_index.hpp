#pragma once
// The published face of the mirror: <dest>/index.html for people, <dest>/manifest.json for tools and for
// a downstream esxmirror (`--source http://mirror/manifest.json`, kind `mirror`). Both are functions of
// the state alone, with no clock in them: a mirror of a mirror publishes the same bytes (README, "Tiers").
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/store/catalog.hpp"

namespace esxmirror::publish {

// What the mirror serves of one online depot.
struct DepotListing {
  std::string name;                           // "main": served under <dest>/main/
  bool published = false;                     // its depot index is in place
  std::vector<std::string> metadata;          // published metadata zips, relative to dest ("main/esx/vmw/...zip")
  int bulletins = 0;                          // bulletins whose VIBs are all in place
  std::optional<std::string> newest_release;  // the latest release date of those bulletins (ISO date)
};

// Every depot the state knows, as the mirror serves it now.
std::vector<DepotListing> depot_listings(store::Database& db);

// Everything the two files show, read from the state.
struct RepositoryContent {
  std::vector<store::CatalogEntry> entries;                  // catalog order (date, then id)
  std::map<std::string, std::vector<store::FileRow>> files;  // placed bundles' files by patch id
  std::vector<DepotListing> depots;
};

// The catalog's entries, every placed bundle's files and the depot listings.
RepositoryContent read_repository(store::Catalog& catalog);

// The newest release date among the placed bundles and the placed depot bulletins; nullopt when none.
// Stands where a generation time would: it changes only with what the mirror holds.
std::optional<std::string> newest_release(const RepositoryContent& content);

// The manifest (manifest_version 2): per version, every placed bundle (id, date, classification,
// supersedes, archive file name, size, md5, sha256, path, link_to) and, for the bundle's own directory, its
// files (path, size, sha256); per version the KB notes; the depots. Deterministic: same state, same bytes.
std::string render_manifest(const RepositoryContent& content);
// The same as a readable HTML page, one table per version, and under it the version's KB notes (pages
// without a bundle: what the vendor says to do instead), linked to the vendor's page.
// Depots get a table of their own: the depot index URL hosts and vCenter take, and what it holds.
std::string render_index_html(const RepositoryContent& content);

// Writes each file atomically (temporary file + rename) when its bytes changed, and leaves it alone
// otherwise, so its mtime and the ETag a web server derives from it stay (a downstream mirror revalidates
// it with a 304). Lists only placed bundles, never .esxmirror/. The temporary files go to `temp_dir` when
// given (created if missing; on dest's filesystem, e.g. the staging directory), so a crash mid-write
// leaves nothing in dest; else beside the files. Throws Error(storage) when they cannot be written.
void write_repository_index(const std::filesystem::path& dest, const RepositoryContent& content,
                            const std::filesystem::path& temp_dir = {});

}  // namespace esxmirror::publish
