#pragma once
// What every pass of a depot mirror shares: the run's settings, the source, its catalog, its report.
#include <filesystem>
#include <string>
#include <vector>

#include "esxmirror/core/depot_mirror.hpp"
#include "esxmirror/core/depot_plan.hpp"
#include "esxmirror/source/depot.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

struct DepotContext {
  const SyncSettings& settings;
  const DepotSource& source;
  store::DepotCatalog& catalog;
  RunReport& report;
  SourceReport& outcome;
  const util::Clock& clock;
  // Where the metadata zips fetched this run land: cache_dir(), or a temporary directory outside the
  // mirror in a dry run (which changes nothing under dest).
  std::filesystem::path download_dir;

  std::int64_t now() const { return util::to_unix(clock.now()); }
  // <dest>/<name>/: what hosts read.
  std::filesystem::path root() const { return settings.dest / source.name; }
  // The last fetched copy of each metadata zip, at its relpath (never served).
  std::filesystem::path cache_dir() const { return settings.state_dir() / "depot" / source.name; }
  // Where VIBs download before they are verified and renamed into root().
  std::filesystem::path staging_dir() const { return settings.staging_dir() / "depot" / source.name; }
  // A URL as it may be stored and shown: the source's secrets as placeholders, the rest masked.
  std::string shown(const std::string& url) const;
  std::string stored(const std::string& url) const;
  // Adds a warning to the run's report.
  void warn(std::string message) const;
};

// The depot's documents as this run read them.
struct VendorSnapshot {
  source::depot::Vendor vendor;
  std::string relpath;                                 // of its index
  std::string url;                                     // request form
  std::optional<std::string> body;                     // nullopt: unreadable this run and never before
  std::vector<source::depot::MetadataEntry> selected;  // entries --esx-version selects
};

struct DepotSnapshot {
  std::string index_relpath;  // "vmw-depot-index.xml"
  std::string index_body;     // as upstream serves it
  std::vector<VendorSnapshot> vendors;
  std::vector<MetadataSnapshot> metadata;        // readable selected zips
  std::map<std::string, std::string> entry_zip;  // "<vendor relpath>\n<entry url>" -> zip relpath
};

// Reads the depot index (given when the caller fetched it already), the vendor indexes and the
// selected metadata zips, conditionally; what did not change comes from the catalog. Throws
// SourceError when the depot index cannot be read or is not one; a vendor index or zip that cannot be
// read is a warning and an outcome of partial (the rest is mirrored).
DepotSnapshot read_depot(DepotContext& context, std::optional<net::Response> index);

// `esxmirror check` (SyncSettings::probe_metadata): `request`, the GET of a selected metadata zip, as a HEAD
// instead, conditional on what was recorded when the zip was last read (`known`; nullptr: never read).
net::Request metadata_probe(net::Request request, const store::DocumentRow* known);
// True when a probe's 200 shows the copy read before: its ETag, or without one its Last-Modified, is the
// one recorded (a server that ignores If-None-Match on HEAD). False when `known` is nullptr.
bool probe_unchanged(const net::Response& response, const store::DocumentRow* known);

// VIBs of `plan.fetch` already under their final name with the right size and sha-256 (placed by a run
// that was killed before recording them, or a mirror whose state database was lost) are recorded as placed
// and moved to plan.in_place: verified, not fetched again.
void adopt_present_vibs(DepotContext& context, DepotPlan& plan);

// Downloads every VIB of `plan.fetch` (jobs at a time), verifies size and sha-256 while streaming, places
// them in batches (one syncfs, a rename each under root(), one transaction). Returns the relpaths placed. A failing VIB
// is recorded with its backoff and named in the report; it never stops the others.
std::set<std::string> fetch_vibs(DepotContext& context, const DepotPlan& plan,
                                 const std::map<std::string, store::VibRow>& known);

// Publishes what is complete: the metadata zips whose VIBs are all in place, then each vendor index listing
// exactly the published entries, then the depot index; each by an atomic rename, each only when it differs
// from what is published. Returns the relpaths written.
std::vector<std::string> publish_depot(DepotContext& context, const DepotSnapshot& snapshot,
                                       const std::set<std::string>& placed, const std::set<std::string>& blocked);

// After publication: marks what no published zip of a selected version references (VIBs) or lists (zips),
// and removes what has been so for longer than settings.depot_keep_unreferenced (issue 10 §4), with its
// catalog rows. Does nothing in a run that could not read every document (what the mirror serves is then
// not known for sure). Fills outcome.removed, bytes_removed and bytes_unreferenced. `vibs` are the rows as
// the run began and `missing` those of them found gone from disk (no longer placed): a VIB placed during
// the run is referenced, so they tell every placed VIB that may be unreferenced without reading the rows again.
void clean_unreferenced(DepotContext& context, const DepotSnapshot& snapshot,
                        const std::map<std::string, store::VibRow>& vibs, const std::set<std::string>& missing);

// Removes the file `relpath` of a depot mirrored under `root` (gone already is fine) and the directories it
// leaves empty, never `root`. Throws Error(storage) when it cannot, or when relpath (read from the state
// database) leads outside root.
void remove_depot_file(const std::filesystem::path& root, const std::string& relpath);

}  // namespace esxmirror
