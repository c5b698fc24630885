#pragma once
// Typed queries over one depot source's tables (schema 0003): its documents, the VIBs its metadata zips
// reference, its bulletins. Paths (`relpath`) are relative to the depot root, the mirror's <dest>/<name>/.
// Every failure throws util::StorageError naming the database, as Database does.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/store/database.hpp"

namespace esxmirror::store {

enum class DocumentKind { depot_index, vendor_index, metadata };
const char* to_string(DocumentKind kind);

// One fetched depot document and what of it is published.
struct DocumentRow {
  std::string relpath;
  DocumentKind kind = DocumentKind::metadata;
  std::string url;                  // stored form: secrets as placeholders
  std::string etag, last_modified;  // validators of the fetched copy
  std::int64_t checked_at = 0, changed_at = 0;
  std::string sha256;  // of the fetched copy
  std::int64_t size = 0;
  std::optional<std::string> body;              // index documents; metadata zips live on disk
  std::optional<std::string> published_sha256;  // what the mirror serves at relpath; nullopt: nothing
  std::optional<std::int64_t> published_at;
  std::optional<std::int64_t> unlisted_since;  // a published zip no selected entry names any more
};

enum class VibState { discovered, downloading, placed, failed };
const char* to_string(VibState state);

struct VibRow {
  std::string relpath;
  std::string vib_id;
  std::string url;  // stored form
  std::int64_t size = 0;
  std::string sha256;
  VibState state = VibState::discovered;
  int failures = 0;  // consecutive failed attempts (drives the backoff)
  std::optional<std::string> last_error;
  std::optional<std::int64_t> next_retry_at;
  std::optional<std::int64_t> placed_at;
  std::optional<std::int64_t> unreferenced_since;
};

// What a metadata zip says about one VIB, as recorded with the zip.
struct VibRef {
  std::string relpath, vib_id, url;
  std::int64_t size = 0;
  std::string sha256;
};

struct BulletinRow {
  std::string id, vendor, summary, severity, category, release_type;
  std::optional<std::string> release_date;  // ISO date
  std::vector<std::string> versions;        // its platforms' versions
  std::vector<std::string> vibs;            // relpaths of its VIBs
};

// What one fetched metadata zip holds: recorded when it is read, loaded when it answers 304.
struct MetadataContents {
  std::vector<VibRef> vibs;
  std::vector<BulletinRow> bulletins;
};

// A bulletin with where it stands: "placed" (every VIB in place and a zip naming it published), "failed"
// (a VIB of it failed), "downloading", or "discovered".
struct BulletinEntry {
  BulletinRow bulletin;
  std::string state;
  std::vector<std::string> published_in;  // relpaths of the published zips naming it
  std::optional<std::string> last_error;  // of its first failed VIB
  std::optional<std::int64_t> placed_at;  // when it was first "placed" (record_placed_bulletins)
};

class DepotCatalog {
 public:
  // The tables of the depot mirrored under `source` (its name, e.g. "main").
  DepotCatalog(Database& db, std::string source) : db_(db), source_(std::move(source)) {}

  const std::string& source() const { return source_; }

  // Every document of this depot by relpath (bodies included).
  std::map<std::string, DocumentRow> documents();
  // Inserts or updates the fetched copy's columns; the published_* columns are kept.
  void save_document(const DocumentRow& row);
  // Only the revalidation time (a 304).
  void touch_document(const std::string& relpath, std::int64_t now);
  // The mirror now serves `sha256` at relpath.
  void mark_published(const std::string& relpath, const std::string& sha256, std::int64_t now);
  // Nothing is served at relpath any more.
  void mark_unpublished(const std::string& relpath);
  // unlisted_since = now for `relpaths` that have none yet; cleared for every other document.
  void set_unlisted(const std::set<std::string>& relpaths, std::int64_t now);
  // Forgets a document entirely (a metadata zip removed from the mirror), with what it referenced.
  void delete_document(const std::string& relpath);

  // Records what the metadata zip at `metadata` holds, replacing what it held before, in one transaction:
  // new VIBs are `discovered`; a known VIB whose size or sha-256 changed goes back to `discovered`.
  void set_metadata_contents(const std::string& metadata, const MetadataContents& contents, std::int64_t now);
  // What the metadata zip at `metadata` holds, as last recorded (VIB rows joined; bulletins without VIBs).
  MetadataContents metadata_contents(const std::string& metadata);

  // Every VIB of this depot by relpath.
  std::map<std::string, VibRow> vibs();
  void mark_vib_downloading(const std::string& relpath, std::int64_t now);
  // Placed and verified: the failure count and backoff are cleared. Several at once in one transaction.
  void mark_vibs_placed(const std::vector<std::string>& relpaths, std::int64_t now);
  // The placed copy is gone from disk (removed by hand): fetched again by the next sync.
  void forget_vib(const std::string& relpath, std::int64_t now);
  // Records a failure: failures + 1, the error (masked by the caller) and when it is due again.
  void mark_vib_failed(const std::string& relpath, const std::string& error, std::int64_t next_retry_at,
                       std::int64_t now);
  // unreferenced_since = now for `relpaths` that have none yet; cleared for every other VIB.
  void set_unreferenced(const std::set<std::string>& relpaths, std::int64_t now);
  // The VIBs with an unreferenced_since (cleanup's candidates), without reading every other row.
  std::vector<VibRow> unreferenced_vibs();
  // Removes the rows of VIBs deleted from the mirror.
  void delete_vibs(const std::vector<std::string>& relpaths);

  // Every bulletin of this depot, ordered by release date then id.
  std::vector<BulletinRow> bulletins();
  // Relpaths of the metadata zips naming each bulletin.
  std::map<std::string, std::set<std::string>> bulletin_metadata();
  // Every bulletin with its state (for list and status), ordered as bulletins().
  std::vector<BulletinEntry> bulletin_entries();
  // Bulletins "placed" now that never were before get placed_at = now, in one transaction; returns them
  // (what a run made available to hosts for the first time).
  std::vector<BulletinEntry> record_placed_bulletins(std::int64_t now);
  // How many of bulletin_entries() are "placed", counted in one query (every run's index.html and
  // manifest.json need only this; loading the entries costs ~15% of a no-op night with 20,000 VIBs).
  std::int64_t placed_bulletin_count() { return placed_bulletins().count; }
  struct PlacedBulletins {
    std::int64_t count = 0;
    std::optional<std::string> newest_release;  // the latest release date (YYYY-MM-DD) among them
  };
  // placed_bulletin_count() and the newest release date of those bulletins, in the same one query.
  PlacedBulletins placed_bulletins();

 private:
  Database& db_;
  std::string source_;
};

// The kind and name a source was last seen with; nullopt for a source never read.
struct SourceRow {
  std::string url, kind, name;
};
std::optional<SourceRow> find_source(Database& db, const std::string& url);
// Records that `url` was read as `kind` (mirrored under `name`).
void record_source(Database& db, const SourceRow& row, std::int64_t now);
// Every source ever read, by stored URL.
std::vector<SourceRow> all_sources(Database& db);

}  // namespace esxmirror::store
