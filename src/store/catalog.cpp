#include "esxmirror/store/catalog.hpp"

#include <fmt/format.h>

#include "esxmirror/util/storage_error.hpp"
#include "esxmirror/util/strings.hpp"
#include "store/column_list.hpp"

namespace esxmirror::store {

namespace {

constexpr const char* kStates[] = {"discovered", "downloading", "verified", "placed", "failed", "pruning", "pruned"};

constexpr auto kBundle = detail::columns("patch_id", "state", "failures", "last_error", "next_retry_at", "md5",
                                         "sha256", "size", "verified_md5_expected", "path", "placed_at", "layout",
                                         "pruned_at", "pruned_versions", "pruned_reason", "first_placed_at");

const char* to_string(BundleLayout layout) { return layout == BundleLayout::nested ? "nested" : "flat"; }

// A value the schema's CHECK constraints allow no other way than by damage to the file.
[[noreturn]] void damaged_value(const Database& db, const std::string& column, const std::string& value) {
  db.damaged(fmt::format("bundles.{} holds '{}'", column, value));
}

BundleRow read_bundle(const Database& db, const Statement& s, int first) {
  BundleRow row;
  row.patch_id = s.text(first + kBundle["patch_id"]);
  std::optional<BundleState> state = bundle_state_from_string(s.text(first + kBundle["state"]));
  if (!state) damaged_value(db, "state", s.text(first + kBundle["state"]));
  row.state = *state;
  row.failures = static_cast<int>(s.integer(first + kBundle["failures"]));
  row.last_error = s.optional_text(first + kBundle["last_error"]);
  row.next_retry_at = s.optional_integer(first + kBundle["next_retry_at"]);
  row.md5 = s.optional_text(first + kBundle["md5"]);
  row.sha256 = s.optional_text(first + kBundle["sha256"]);
  row.size = s.optional_integer(first + kBundle["size"]);
  row.verified_md5_expected = s.optional_text(first + kBundle["verified_md5_expected"]);
  row.path = s.optional_text(first + kBundle["path"]);
  row.placed_at = s.optional_integer(first + kBundle["placed_at"]);
  const std::string layout = s.text(first + kBundle["layout"]);
  if (layout != "flat" && layout != "nested") damaged_value(db, "layout", layout);
  row.layout = layout == "nested" ? BundleLayout::nested : BundleLayout::flat;
  row.pruned_at = s.optional_integer(first + kBundle["pruned_at"]);
  if (auto versions = s.optional_text(first + kBundle["pruned_versions"]); versions && !versions->empty()) {
    row.pruned_versions = util::split(*versions, ' ');
  }
  row.pruned_reason = s.optional_text(first + kBundle["pruned_reason"]);
  row.first_placed_at = s.optional_integer(first + kBundle["first_placed_at"]);
  return row;
}

constexpr auto kPatch = detail::columns("id", "page_url", "release_date", "classification", "supersedes",
                                        "download_url", "filename", "md5_expected");

PatchRecord read_patch(const Statement& s) {
  PatchRecord patch;
  patch.id = s.text(kPatch["id"]);
  patch.page_url = s.text(kPatch["page_url"]);
  patch.release_date = s.optional_text(kPatch["release_date"]);
  patch.classification = s.text(kPatch["classification"]);
  std::string supersedes = s.text(kPatch["supersedes"]);
  if (!supersedes.empty()) patch.supersedes = util::split(supersedes, ' ');
  patch.set_bundle(s.text(kPatch["download_url"]), s.text(kPatch["filename"]), s.optional_text(kPatch["md5_expected"]));
  return patch;
}

constexpr auto kPage = detail::columns("url", "etag", "last_modified", "checked_at", "changed_at", "extracted");

PageRow read_page(const Statement& s) {
  return {.url = s.text(kPage["url"]),
          .etag = s.text(kPage["etag"]),
          .last_modified = s.text(kPage["last_modified"]),
          .checked_at = s.integer(kPage["checked_at"]),
          .changed_at = s.integer(kPage["changed_at"]),
          .extracted = s.text(kPage["extracted"])};
}

constexpr auto kRun = detail::columns("id", "started_at", "finished_at", "outcome", "exit_code", "placed", "skipped",
                                      "failed", "bytes", "message");

}  // namespace

const char* to_string(BundleState state) { return kStates[static_cast<int>(state)]; }

std::optional<BundleState> bundle_state_from_string(const std::string& name) {
  for (std::size_t i = 0; i < std::size(kStates); ++i) {
    if (name == kStates[i]) return static_cast<BundleState>(i);
  }
  return std::nullopt;
}

std::optional<PageRow> Catalog::page(const std::string& url) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM pages WHERE url = ?", kPage.sql()));
  s.bind(url);
  if (!s.step()) return std::nullopt;
  return read_page(s);
}

std::map<std::string, PageRow> Catalog::pages() {
  std::map<std::string, PageRow> all;
  auto s = db_.prepare(fmt::format("SELECT {} FROM pages", kPage.sql()));
  while (s.step()) {
    PageRow row = read_page(s);
    all.emplace(row.url, std::move(row));
  }
  return all;
}

void Catalog::save_page(const PageRow& page) {
  db_.prepare(
         "INSERT INTO pages (url, etag, last_modified, checked_at, changed_at, extracted) VALUES (?, ?, ?, ?, ?, ?) "
         "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
         "checked_at = excluded.checked_at, changed_at = excluded.changed_at, extracted = excluded.extracted")
      .bind(page.url, page.etag, page.last_modified, page.checked_at, page.changed_at, page.extracted)
      .run();
}

void Catalog::upsert_patch(const PatchRecord& patch, std::int64_t now) {
  Database::Transaction transaction(db_);
  db_.prepare(
         "INSERT INTO patches (id, page_url, release_date, classification, supersedes, download_url, filename, "
         "md5_expected, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
         "ON CONFLICT(id) DO UPDATE SET page_url = excluded.page_url, release_date = excluded.release_date, "
         "classification = excluded.classification, supersedes = excluded.supersedes, "
         "download_url = excluded.download_url, filename = excluded.filename, "
         "md5_expected = excluded.md5_expected, last_seen = excluded.last_seen")
      .bind(patch.id, patch.page_url, patch.release_date, patch.classification, util::join(patch.supersedes, " "),
            patch.bundle_url(), patch.bundle_file(), patch.md5(), now, now)
      .run();
  db_.prepare("DELETE FROM patch_versions WHERE patch_id = ?").bind(patch.id).run();
  auto insert_version = db_.prepare("INSERT OR IGNORE INTO patch_versions (patch_id, version) VALUES (?, ?)");
  for (const std::string& version : patch.versions) insert_version.bind(patch.id, version).run();
  if (patch.has_bundle()) {
    db_.prepare("INSERT OR IGNORE INTO bundles (patch_id, state, updated_at) VALUES (?, 'discovered', ?)")
        .bind(patch.id, now)
        .run();
  }
  transaction.commit();
}

std::optional<PatchRecord> Catalog::patch(const std::string& id) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM patches WHERE id = ?", kPatch.sql()));
  s.bind(id);
  if (!s.step()) return std::nullopt;
  PatchRecord patch = read_patch(s);
  auto v = db_.prepare("SELECT version FROM patch_versions WHERE patch_id = ? ORDER BY rowid");
  v.bind(id);
  while (v.step()) patch.versions.push_back(v.text(0));
  return patch;
}

std::map<std::string, BundleRow> Catalog::bundles() {
  std::map<std::string, BundleRow> all;
  auto s = db_.prepare(fmt::format("SELECT {} FROM bundles", kBundle.sql()));
  while (s.step()) {
    BundleRow row = read_bundle(db_, s, 0);
    all.emplace(row.patch_id, std::move(row));
  }
  return all;
}

std::optional<BundleRow> Catalog::bundle(const std::string& id) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM bundles WHERE patch_id = ?", kBundle.sql()));
  s.bind(id);
  if (!s.step()) return std::nullopt;
  return read_bundle(db_, s, 0);
}

void Catalog::mark_downloading(const std::string& id, std::int64_t now) {
  db_.prepare("UPDATE bundles SET state = 'downloading', updated_at = ? WHERE patch_id = ? AND state != 'placed'")
      .bind(now, id)
      .run();
}

void Catalog::mark_verified(const std::string& id, const std::string& md5, const std::string& sha256, std::int64_t size,
                            const std::optional<std::string>& verified_md5_expected, std::int64_t now) {
  db_.prepare(
         "UPDATE bundles SET state = 'verified', md5 = ?, sha256 = ?, size = ?, verified_md5_expected = ?, "
         "updated_at = ? WHERE patch_id = ? AND state != 'placed'")
      .bind(md5, sha256, size, verified_md5_expected, now, id)
      .run();
}

void Catalog::mark_failed(const std::string& id, const std::string& error, std::int64_t next_retry_at,
                          std::int64_t now) {
  // A placed bundle whose replacement failed stays placed (its old copy is intact); the error is kept.
  db_.prepare(
         "UPDATE bundles SET state = CASE WHEN state = 'placed' THEN 'placed' ELSE 'failed' END, "
         "failures = failures + 1, last_error = ?, next_retry_at = ?, updated_at = ? WHERE patch_id = ?")
      .bind(error, next_retry_at, now, id)
      .run();
}

void Catalog::mark_placed(const std::string& id, const Placed& placed, std::int64_t now) {
  Database::Transaction transaction(db_);
  db_.prepare(
         "UPDATE bundles SET state = 'placed', failures = 0, last_error = NULL, next_retry_at = NULL, md5 = ?, "
         "sha256 = ?, size = ?, verified_md5_expected = ?, path = ?, placed_at = ?, updated_at = ?, layout = ?, "
         "pruned_at = NULL, pruned_versions = NULL, pruned_reason = NULL, first_placed_at = COALESCE(first_placed_at, "
         "?) "
         "WHERE patch_id = ?")
      .bind(placed.md5, placed.sha256, placed.size, placed.verified_md5_expected, placed.path, now, now,
            to_string(placed.layout), now, id)
      .run();
  db_.prepare("DELETE FROM placements WHERE patch_id = ?").bind(id).run();
  auto insert_placement = db_.prepare("INSERT INTO placements (patch_id, version, path, is_link) VALUES (?, ?, ?, ?)");
  for (const PlacementRow& p : placed.placements) insert_placement.bind(id, p.version, p.path, p.is_link).run();
  db_.prepare("DELETE FROM bundle_files WHERE patch_id = ?").bind(id).run();
  auto insert_file = db_.prepare("INSERT INTO bundle_files (patch_id, relpath, size, sha256) VALUES (?, ?, ?, ?)");
  for (const FileRow& f : placed.files) insert_file.bind(id, f.relpath, f.size, f.sha256).run();
  transaction.commit();
}

void Catalog::forget_placement(const std::string& id, std::int64_t now) {
  Database::Transaction transaction(db_);
  db_.prepare(
         "UPDATE bundles SET state = 'discovered', path = NULL, placed_at = NULL, updated_at = ? "
         "WHERE patch_id = ? AND state = 'placed'")
      .bind(now, id)
      .run();
  db_.prepare("DELETE FROM placements WHERE patch_id = ?").bind(id).run();
  db_.prepare("DELETE FROM bundle_files WHERE patch_id = ?").bind(id).run();
  transaction.commit();
}

void Catalog::mark_flat(const std::string& id, const std::vector<FileRow>& files) {
  Database::Transaction transaction(db_);
  db_.prepare("DELETE FROM bundle_files WHERE patch_id = ?").bind(id).run();
  auto insert_file = db_.prepare("INSERT INTO bundle_files (patch_id, relpath, size, sha256) VALUES (?, ?, ?, ?)");
  for (const FileRow& f : files) insert_file.bind(id, f.relpath, f.size, f.sha256).run();
  db_.prepare("UPDATE bundles SET layout = 'flat' WHERE patch_id = ?").bind(id).run();
  transaction.commit();
}

void Catalog::add_placement(const std::string& id, const PlacementRow& placement) {
  db_.prepare("INSERT OR REPLACE INTO placements (patch_id, version, path, is_link) VALUES (?, ?, ?, ?)")
      .bind(id, placement.version, placement.path, placement.is_link)
      .run();
}

void Catalog::mark_pruning(const std::vector<PruneDecision>& decisions, std::int64_t now) {
  Database::Transaction transaction(db_);
  auto update = db_.prepare(
      "UPDATE bundles SET state = 'pruning', pruned_at = ?, pruned_versions = ?, pruned_reason = ?, updated_at = ? "
      "WHERE patch_id = ? AND state = 'placed'");
  for (const PruneDecision& d : decisions) update.bind(now, util::join(d.versions, " "), d.reason, now, d.id).run();
  transaction.commit();
}

void Catalog::mark_pruned(const std::string& id, std::int64_t now) {
  Database::Transaction transaction(db_);
  db_.prepare(
         "UPDATE bundles SET state = 'pruned', path = NULL, placed_at = NULL, failures = 0, last_error = NULL, "
         "next_retry_at = NULL, updated_at = ? WHERE patch_id = ? AND state = 'pruning'")
      .bind(now, id)
      .run();
  // Only once it is `pruned`: a bundle placed again meanwhile keeps its rows.
  const char* pruned = "AND EXISTS (SELECT 1 FROM bundles WHERE patch_id = ? AND state = 'pruned')";
  db_.prepare(fmt::format("DELETE FROM placements WHERE patch_id = ? {}", pruned)).bind(id, id).run();
  db_.prepare(fmt::format("DELETE FROM bundle_files WHERE patch_id = ? {}", pruned)).bind(id, id).run();
  transaction.commit();
}

void Catalog::make_due(const std::vector<std::string>& ids) {
  Database::Transaction transaction(db_);
  // Also a placed bundle whose replacement failed: it waits out a backoff too (see plan_patches).
  auto update = db_.prepare(
      "UPDATE bundles SET next_retry_at = NULL WHERE patch_id = ? AND (state = 'failed' OR last_error IS NOT NULL)");
  for (const std::string& id : ids) update.bind(id).run();
  transaction.commit();
}

std::vector<std::string> Catalog::make_all_failed_due() {
  std::vector<std::string> ids;
  // Failed bundles, and placed ones whose replacement failed (what `status` lists as failed).
  auto s =
      db_.prepare("SELECT patch_id FROM bundles WHERE state = 'failed' OR last_error IS NOT NULL ORDER BY patch_id");
  while (s.step()) ids.push_back(s.text(0));
  db_.exec("UPDATE bundles SET next_retry_at = NULL WHERE state = 'failed' OR last_error IS NOT NULL");
  return ids;
}

std::vector<CatalogEntry> Catalog::entries() {
  std::vector<CatalogEntry> all;
  std::map<std::string, std::size_t> index;
  auto s =
      db_.prepare(fmt::format("SELECT {}, {} FROM patches LEFT JOIN bundles ON bundles.patch_id = patches.id "
                              "ORDER BY release_date IS NULL, release_date, id",
                              kPatch.sql(), kBundle.sql()));
  while (s.step()) {
    CatalogEntry entry;
    entry.patch = read_patch(s);
    // The bundle's columns follow the patch's; a patch without a bundle row has them all NULL.
    if (s.optional_text(kPatch.size() + kBundle["patch_id"])) entry.bundle = read_bundle(db_, s, kPatch.size());
    index.emplace(entry.patch.id, all.size());
    all.push_back(std::move(entry));
  }
  auto v = db_.prepare("SELECT patch_id, version FROM patch_versions ORDER BY rowid");
  while (v.step()) {
    auto it = index.find(v.text(0));
    if (it != index.end()) all[it->second].patch.versions.push_back(v.text(1));
  }
  auto p = db_.prepare("SELECT patch_id, version, path, is_link FROM placements ORDER BY is_link, version");
  while (p.step()) {
    auto it = index.find(p.text(0));
    if (it != index.end()) all[it->second].placements.push_back({p.text(1), p.text(2), p.integer(3) != 0});
  }
  return all;
}

std::vector<FileRow> Catalog::files(const std::string& id) {
  std::vector<FileRow> all;
  auto s = db_.prepare("SELECT relpath, size, sha256 FROM bundle_files WHERE patch_id = ? ORDER BY relpath");
  s.bind(id);
  while (s.step()) all.push_back({s.text(0), s.integer(1), s.text(2)});
  return all;
}

std::map<std::string, std::vector<FileRow>> Catalog::placed_files() {
  std::map<std::string, std::vector<FileRow>> all;
  auto s = db_.prepare(
      "SELECT bundle_files.patch_id, relpath, bundle_files.size, bundle_files.sha256 FROM bundle_files "
      "JOIN bundles ON bundles.patch_id = bundle_files.patch_id WHERE bundles.state = 'placed' "
      "ORDER BY bundle_files.patch_id, relpath");
  while (s.step()) all[s.text(0)].push_back({s.text(1), s.integer(2), s.text(3)});
  return all;
}

std::map<std::string, std::int64_t> Catalog::bundle_bytes() {
  std::map<std::string, std::int64_t> bytes;
  auto s = db_.prepare("SELECT patch_id, SUM(size) FROM bundle_files GROUP BY patch_id");
  while (s.step()) bytes.emplace(s.text(0), s.integer(1));
  return bytes;
}

std::int64_t Catalog::start_run(std::int64_t now) {
  // Runs start under the mirror's lock, so a run still marked running died without finishing (SIGKILL,
  // crash, power loss): say so rather than show it running forever.
  db_.exec(
      "UPDATE runs SET outcome = 'abandoned', message = 'ended without finishing (killed or crashed)' "
      "WHERE outcome = 'running'");
  db_.prepare("INSERT INTO runs (started_at) VALUES (?)").bind(now).run();
  auto s = db_.prepare("SELECT last_insert_rowid()");
  s.step();
  return s.integer(0);
}

void Catalog::finish_run(const RunRow& run) {
  db_.prepare(
         "UPDATE runs SET finished_at = ?, outcome = ?, exit_code = ?, placed = ?, skipped = ?, failed = ?, "
         "bytes = ?, message = ? WHERE id = ?")
      .bind(run.finished_at, run.outcome, run.exit_code, run.placed, run.skipped, run.failed, run.bytes, run.message,
            run.id)
      .run();
}

std::vector<RunRow> Catalog::recent_runs(int limit) {
  std::vector<RunRow> runs;
  auto s = db_.prepare(fmt::format("SELECT {} FROM runs ORDER BY id DESC LIMIT ?", kRun.sql()));
  s.bind(limit);
  while (s.step()) {
    RunRow row;
    row.id = s.integer(kRun["id"]);
    row.started_at = s.integer(kRun["started_at"]);
    row.finished_at = s.optional_integer(kRun["finished_at"]);
    row.outcome = s.text(kRun["outcome"]);
    if (auto code = s.optional_integer(kRun["exit_code"])) row.exit_code = static_cast<int>(*code);
    row.placed = static_cast<int>(s.integer(kRun["placed"]));
    row.skipped = static_cast<int>(s.integer(kRun["skipped"]));
    row.failed = static_cast<int>(s.integer(kRun["failed"]));
    row.bytes = s.integer(kRun["bytes"]);
    row.message = s.text(kRun["message"]);
    runs.push_back(std::move(row));
  }
  return runs;
}

}  // namespace esxmirror::store
