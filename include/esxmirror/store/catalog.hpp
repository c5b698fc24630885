#pragma once
// Typed queries over the state database: pages, patches, bundle states, placements, runs.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/core/patch.hpp"
#include "esxmirror/store/database.hpp"

namespace esxmirror::store {

// A document of a legacy site (index or detail page) as last answered, kept for the next conditional GET.
struct PageRow {
  std::string url;  // stored form: secrets as placeholders
  std::string etag;
  std::string last_modified;
  std::int64_t checked_at = 0;  // last time the server was asked
  std::int64_t changed_at = 0;  // last time it answered with a (new) body
  std::string extracted;        // JSON of what the page yielded
};

// pruning/pruned: removed by retention (`esxmirror prune`): decided (its directory may still be on disk,
// no longer published), then gone from disk with its placements and file rows; the row stays so a sync
// does not fetch it again.
enum class BundleState { discovered, downloading, verified, placed, failed, pruning, pruned };
const char* to_string(BundleState state);
// The state named `name` ("placed"...); nullopt for an unknown name.
std::optional<BundleState> bundle_state_from_string(const std::string& name);

// How a placed bundle's directory is laid out (DESIGN §5).
enum class BundleLayout {
  flat,   // its files directly inside <date>_<bundle>/ (the archive's top directory named like the bundle
          // is the bundle directory)
  nested  // placed by a release before schema 2: that top directory may still be inside
          // (<date>_<bundle>/<bundle>/...); the next sync converts it
};

// Where one patch's bundle stands: its state, failures and backoff, digests, and where it was placed.
struct BundleRow {
  std::string patch_id;
  BundleState state = BundleState::discovered;
  int failures = 0;
  std::optional<std::string> last_error;
  std::optional<std::int64_t> next_retry_at;
  std::optional<std::string> md5;
  std::optional<std::string> sha256;
  std::optional<std::int64_t> size;
  std::optional<std::string> verified_md5_expected;
  std::optional<std::string> path;
  std::optional<std::int64_t> placed_at;  // the last placement (a replacement is one)
  BundleLayout layout = BundleLayout::flat;
  std::optional<std::int64_t> first_placed_at;  // the first (schema 5); kept when the copy is forgotten
  // Set when retention removes it (pruning, pruned): when that was decided, the versions a newer bundle
  // covered then (a sync fetches it again only for a version outside these), and why.
  std::optional<std::int64_t> pruned_at;
  std::vector<std::string> pruned_versions;
  std::optional<std::string> pruned_reason;
};

// What retention decided to remove about one bundle (see Catalog::mark_pruning).
struct PruneDecision {
  std::string id;
  std::vector<std::string> versions;  // the versions a newer bundle covers
  std::string reason;
};

// One version's name for a placed bundle: its own directory, or a link to the directory of another version.
struct PlacementRow {
  std::string version;
  std::string path;  // relative to dest
  bool is_link = false;
};

// One file of a placed bundle, as verify checks it.
struct FileRow {
  std::string relpath;  // relative to the bundle directory
  std::int64_t size = 0;
  std::string sha256;
};

// A patch with everything known about it (for list, status, publish, verify).
struct CatalogEntry {
  PatchRecord patch;
  std::optional<BundleRow> bundle;
  std::vector<PlacementRow> placements;
};

// One sync (or repair) as recorded when it finished: what `status` shows of the recent runs.
struct RunRow {
  std::int64_t id = 0;
  std::int64_t started_at = 0;
  std::optional<std::int64_t> finished_at;
  std::string outcome;
  std::optional<int> exit_code;
  int placed = 0, skipped = 0, failed = 0;
  std::int64_t bytes = 0;
  std::string message;
};

// What a completed bundle looks like when it is recorded as placed.
struct Placed {
  std::string md5, sha256;
  std::int64_t size = 0;
  std::optional<std::string> verified_md5_expected;
  std::string path;
  std::vector<PlacementRow> placements;
  std::vector<FileRow> files;
  BundleLayout layout = BundleLayout::flat;
};

// The legacy source's tables (pages, patches, bundles, placements, files, runs) over an open database.
// Every query throws util::StorageError naming the database when SQLite fails.
class Catalog {
 public:
  explicit Catalog(Database& db) : db_(db) {}

  // The page at stored URL `url`; nullopt when it was never read.
  std::optional<PageRow> page(const std::string& url);
  // Every page read so far, by stored URL.
  std::map<std::string, PageRow> pages();
  // Inserts or replaces the page's row.
  void save_page(const PageRow& page);

  // Inserts or updates the patch and its versions; a new patch with a bundle gets a `discovered` bundle
  // row (a KB note gets none).
  void upsert_patch(const PatchRecord& patch, std::int64_t now);
  // The patch `id` as last recorded; nullopt for an unknown id.
  std::optional<PatchRecord> patch(const std::string& id);
  // Every bundle row by patch id.
  std::map<std::string, BundleRow> bundles();
  // The bundle row of patch `id`; nullopt when it has none (unknown, or a KB note).
  std::optional<BundleRow> bundle(const std::string& id);

  // The bundle's download has started: `downloading`.
  void mark_downloading(const std::string& id, std::int64_t now);
  // The archive of a bundle not placed yet passed verification and is about to be renamed into place:
  // `verified`, with its digests (placements and files stay empty). After a crash between the rename and
  // mark_placed, the copy found under the final name is adopted with these digests. A placed bundle (one
  // being replaced) is left as it is: its old copy is what is on disk until the exchange.
  void mark_verified(const std::string& id, const std::string& md5, const std::string& sha256, std::int64_t size,
                     const std::optional<std::string>& verified_md5_expected, std::int64_t now);
  // Records a failure: increments `failures`, stores the error and when it is due again.
  void mark_failed(const std::string& id, const std::string& error, std::int64_t next_retry_at, std::int64_t now);
  // Records a placed bundle with its placements and file hashes, in one transaction; placed_at = now, and
  // first_placed_at = now unless it was placed before.
  void mark_placed(const std::string& id, const Placed& placed, std::int64_t now);
  // The placed copy is gone from disk (removed by hand): back to `discovered`, without placements or
  // file hashes, so nothing lists it as placed until it is fetched again.
  void forget_placement(const std::string& id, std::int64_t now);
  // The placed bundle's directory now holds its files directly inside (converted from the nested layout):
  // its file rows replaced by `files` and its layout `flat`, in one transaction.
  void mark_flat(const std::string& id, const std::vector<FileRow>& files);
  // Adds or replaces one placement (a link for a newly selected version).
  void add_placement(const std::string& id, const PlacementRow& placement);
  // Retention decided to remove these placed bundles: `pruning`, with when, the versions covered and why,
  // in one transaction. Their placements and file rows stay until mark_pruned (the removal needs them).
  // A bundle no longer `placed` is left as it is.
  void mark_pruning(const std::vector<PruneDecision>& decisions, std::int64_t now);
  // The `pruning` bundle is gone from disk: `pruned`, without path, placements, file rows or error, in one
  // transaction.
  void mark_pruned(const std::string& id, std::int64_t now);
  // Makes the given failed bundles (failed, or placed whose replacement failed) due now, in one transaction.
  void make_due(const std::vector<std::string>& ids);
  // Makes every failed bundle due now; returns their ids.
  std::vector<std::string> make_all_failed_due();

  // Every patch with its bundle state and placements, ordered by date then id.
  std::vector<CatalogEntry> entries();
  // The recorded files of patch `id`'s bundle, ordered by relpath (empty when none are recorded).
  std::vector<FileRow> files(const std::string& id);
  // The files of every placed bundle by patch id, each bundle's ordered by relpath (one query).
  std::map<std::string, std::vector<FileRow>> placed_files();
  // Bytes of each bundle's recorded files (its directory's content, a kept archive included), by id.
  std::map<std::string, std::int64_t> bundle_bytes();

  // Records a run as started at `now` (outcome "running"; a run still "running" from before is marked
  // abandoned: it was killed); returns its id.
  std::int64_t start_run(std::int64_t now);
  // Records how run `run.id` ended.
  void finish_run(const RunRow& run);
  // The last `limit` runs, newest first.
  std::vector<RunRow> recent_runs(int limit);

  // The database these tables are in (for a transaction around several calls).
  Database& database() { return db_; }

 private:
  Database& db_;
};

}  // namespace esxmirror::store
