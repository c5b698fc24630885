#include "esxmirror/store/depot_catalog.hpp"

#include <fmt/format.h>

#include "esxmirror/util/storage_error.hpp"
#include "esxmirror/util/strings.hpp"
#include "store/column_list.hpp"

namespace esxmirror::store {

namespace {

constexpr const char* kDocumentKinds[] = {"depot-index", "vendor-index", "metadata"};
constexpr const char* kVibStates[] = {"discovered", "downloading", "placed", "failed"};

template <typename Enum, std::size_t N>
Enum enum_from(const char* const (&names)[N], const std::string& name, const char* what) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
  }
  throw util::StorageError(fmt::format("state database holds an unknown {} '{}'", what, name));
}

// One typed row per query: the column list and its reader side by side.
constexpr auto kDocument =
    detail::columns("relpath", "kind", "url", "etag", "last_modified", "checked_at", "changed_at", "sha256", "size",
                    "body", "published_sha256", "published_at", "unlisted_since");

DocumentRow read_document(const Statement& s) {
  DocumentRow row;
  row.relpath = s.text(kDocument["relpath"]);
  row.kind = enum_from<DocumentKind>(kDocumentKinds, s.text(kDocument["kind"]), "document kind");
  row.url = s.text(kDocument["url"]);
  row.etag = s.text(kDocument["etag"]);
  row.last_modified = s.text(kDocument["last_modified"]);
  row.checked_at = s.integer(kDocument["checked_at"]);
  row.changed_at = s.integer(kDocument["changed_at"]);
  row.sha256 = s.text(kDocument["sha256"]);
  row.size = s.integer(kDocument["size"]);
  row.body = s.optional_text(kDocument["body"]);
  row.published_sha256 = s.optional_text(kDocument["published_sha256"]);
  row.published_at = s.optional_integer(kDocument["published_at"]);
  row.unlisted_since = s.optional_integer(kDocument["unlisted_since"]);
  return row;
}

constexpr auto kVib = detail::columns("relpath", "vib_id", "url", "size", "sha256", "state", "failures", "last_error",
                                      "next_retry_at", "placed_at", "unreferenced_since");

// bulletin_entries()' "placed", as SQL on `b` (a depot_bulletins row; ?1 is the source): a published zip
// names it, and each of its VIBs has a row in state placed.
constexpr const char* kBulletinIsPlaced =
    "EXISTS (SELECT 1 FROM depot_metadata_bulletins m JOIN depot_documents d "
    "  ON d.source = m.source AND d.relpath = m.metadata "
    "  WHERE m.source = ?1 AND m.bulletin = b.id AND d.published_sha256 IS NOT NULL) "
    "AND NOT EXISTS (SELECT 1 FROM depot_bulletin_vibs bv LEFT JOIN depot_vibs v "
    "  ON v.source = bv.source AND v.relpath = bv.vib "
    "  WHERE bv.source = ?1 AND bv.bulletin = b.id AND (v.state IS NULL OR v.state != 'placed'))";

VibRow read_vib(const Statement& s) {
  VibRow row;
  row.relpath = s.text(kVib["relpath"]);
  row.vib_id = s.text(kVib["vib_id"]);
  row.url = s.text(kVib["url"]);
  row.size = s.integer(kVib["size"]);
  row.sha256 = s.text(kVib["sha256"]);
  row.state = enum_from<VibState>(kVibStates, s.text(kVib["state"]), "VIB state");
  row.failures = static_cast<int>(s.integer(kVib["failures"]));
  row.last_error = s.optional_text(kVib["last_error"]);
  row.next_retry_at = s.optional_integer(kVib["next_retry_at"]);
  row.placed_at = s.optional_integer(kVib["placed_at"]);
  row.unreferenced_since = s.optional_integer(kVib["unreferenced_since"]);
  return row;
}

constexpr auto kBulletin =
    detail::columns("id", "vendor", "summary", "severity", "category", "release_type", "release_date", "versions");

BulletinRow read_bulletin(const Statement& s) {
  BulletinRow row;
  row.id = s.text(kBulletin["id"]);
  row.vendor = s.text(kBulletin["vendor"]);
  row.summary = s.text(kBulletin["summary"]);
  row.severity = s.text(kBulletin["severity"]);
  row.category = s.text(kBulletin["category"]);
  row.release_type = s.text(kBulletin["release_type"]);
  row.release_date = s.optional_text(kBulletin["release_date"]);
  std::string versions = s.text(kBulletin["versions"]);
  if (!versions.empty()) row.versions = util::split(versions, ' ');
  return row;
}

// The VIB relpaths of every bulletin of `source`, filled into `rows` by id.
void attach_bulletin_vibs(Database& db, const std::string& source, std::map<std::string, BulletinRow*>& rows) {
  auto s = db.prepare("SELECT bulletin, vib FROM depot_bulletin_vibs WHERE source = ? ORDER BY rowid");
  s.bind(source);
  while (s.step()) {
    auto it = rows.find(s.text(0));
    if (it != rows.end()) it->second->vibs.push_back(s.text(1));
  }
}

}  // namespace

const char* to_string(DocumentKind kind) { return kDocumentKinds[static_cast<int>(kind)]; }
const char* to_string(VibState state) { return kVibStates[static_cast<int>(state)]; }

std::map<std::string, DocumentRow> DepotCatalog::documents() {
  std::map<std::string, DocumentRow> all;
  auto s = db_.prepare(fmt::format("SELECT {} FROM depot_documents WHERE source = ?", kDocument.sql()));
  s.bind(source_);
  while (s.step()) {
    DocumentRow row = read_document(s);
    all.emplace(row.relpath, std::move(row));
  }
  return all;
}

void DepotCatalog::save_document(const DocumentRow& row) {
  db_.prepare(
         "INSERT INTO depot_documents (source, relpath, kind, url, etag, last_modified, checked_at, changed_at, "
         "sha256, size, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
         "ON CONFLICT(source, relpath) DO UPDATE SET kind = excluded.kind, url = excluded.url, "
         "etag = excluded.etag, last_modified = excluded.last_modified, checked_at = excluded.checked_at, "
         "changed_at = excluded.changed_at, sha256 = excluded.sha256, size = excluded.size, body = excluded.body")
      .bind(source_, row.relpath, to_string(row.kind), row.url, row.etag, row.last_modified, row.checked_at,
            row.changed_at, row.sha256, row.size, row.body)
      .run();
}

void DepotCatalog::touch_document(const std::string& relpath, std::int64_t now) {
  db_.prepare("UPDATE depot_documents SET checked_at = ? WHERE source = ? AND relpath = ?")
      .bind(now, source_, relpath)
      .run();
}

void DepotCatalog::mark_published(const std::string& relpath, const std::string& sha256, std::int64_t now) {
  db_.prepare(
         "UPDATE depot_documents SET published_sha256 = ?, published_at = ?, unlisted_since = NULL "
         "WHERE source = ? AND relpath = ?")
      .bind(sha256, now, source_, relpath)
      .run();
}

void DepotCatalog::mark_unpublished(const std::string& relpath) {
  db_.prepare(
         "UPDATE depot_documents SET published_sha256 = NULL, published_at = NULL "
         "WHERE source = ? AND relpath = ?")
      .bind(source_, relpath)
      .run();
}

void DepotCatalog::set_unlisted(const std::set<std::string>& relpaths, std::int64_t now) {
  Database::Transaction transaction(db_);
  auto mark = db_.prepare(
      "UPDATE depot_documents SET unlisted_since = COALESCE(unlisted_since, ?) "
      "WHERE source = ? AND relpath = ?");
  auto clear = db_.prepare("UPDATE depot_documents SET unlisted_since = NULL WHERE source = ? AND relpath = ?");
  for (const auto& [relpath, row] : documents()) {
    if (relpaths.count(relpath)) {
      mark.bind(now, source_, relpath).run();
    } else if (row.unlisted_since) {
      clear.bind(source_, relpath).run();
    }
  }
  transaction.commit();
}

void DepotCatalog::delete_document(const std::string& relpath) {
  Database::Transaction transaction(db_);
  db_.prepare("DELETE FROM depot_documents WHERE source = ? AND relpath = ?").bind(source_, relpath).run();
  db_.prepare("DELETE FROM depot_metadata_vibs WHERE source = ? AND metadata = ?").bind(source_, relpath).run();
  db_.prepare("DELETE FROM depot_metadata_bulletins WHERE source = ? AND metadata = ?").bind(source_, relpath).run();
  transaction.commit();
}

void DepotCatalog::set_metadata_contents(const std::string& metadata, const MetadataContents& contents,
                                         std::int64_t now) {
  Database::Transaction transaction(db_);
  db_.prepare("DELETE FROM depot_metadata_vibs WHERE source = ? AND metadata = ?").bind(source_, metadata).run();
  db_.prepare("DELETE FROM depot_metadata_bulletins WHERE source = ? AND metadata = ?").bind(source_, metadata).run();
  // A VIB whose file changed upstream (size or digest) must be fetched again, whatever it was.
  auto upsert_vib = db_.prepare(
      "INSERT INTO depot_vibs (source, relpath, vib_id, url, size, sha256, state, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, 'discovered', ?) "
      "ON CONFLICT(source, relpath) DO UPDATE SET vib_id = excluded.vib_id, url = excluded.url, "
      "state = CASE WHEN depot_vibs.size != excluded.size OR depot_vibs.sha256 != excluded.sha256 "
      "  THEN 'discovered' ELSE depot_vibs.state END, "
      "failures = CASE WHEN depot_vibs.size != excluded.size OR depot_vibs.sha256 != excluded.sha256 "
      "  THEN 0 ELSE depot_vibs.failures END, "
      "size = excluded.size, sha256 = excluded.sha256, updated_at = excluded.updated_at");
  auto link_vib = db_.prepare("INSERT OR IGNORE INTO depot_metadata_vibs (source, metadata, vib) VALUES (?, ?, ?)");
  for (const VibRef& vib : contents.vibs) {
    upsert_vib.bind(source_, vib.relpath, vib.vib_id, vib.url, vib.size, vib.sha256, now).run();
    link_vib.bind(source_, metadata, vib.relpath).run();
  }
  auto upsert_bulletin = db_.prepare(
      "INSERT INTO depot_bulletins (source, id, vendor, summary, severity, category, release_type, release_date, "
      "versions, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(source, id) DO UPDATE SET vendor = excluded.vendor, summary = excluded.summary, "
      "severity = excluded.severity, category = excluded.category, release_type = excluded.release_type, "
      "release_date = excluded.release_date, versions = excluded.versions, last_seen = excluded.last_seen");
  auto clear_vibs = db_.prepare("DELETE FROM depot_bulletin_vibs WHERE source = ? AND bulletin = ?");
  auto add_vib = db_.prepare("INSERT OR IGNORE INTO depot_bulletin_vibs (source, bulletin, vib) VALUES (?, ?, ?)");
  auto link_bulletin =
      db_.prepare("INSERT OR IGNORE INTO depot_metadata_bulletins (source, metadata, bulletin) VALUES (?, ?, ?)");
  for (const BulletinRow& b : contents.bulletins) {
    upsert_bulletin
        .bind(source_, b.id, b.vendor, b.summary, b.severity, b.category, b.release_type, b.release_date,
              util::join(b.versions, " "), now, now)
        .run();
    clear_vibs.bind(source_, b.id).run();
    for (const std::string& vib : b.vibs) add_vib.bind(source_, b.id, vib).run();
    link_bulletin.bind(source_, metadata, b.id).run();
  }
  transaction.commit();
}

MetadataContents DepotCatalog::metadata_contents(const std::string& metadata) {
  MetadataContents contents;
  auto v = db_.prepare(
      "SELECT v.relpath, v.vib_id, v.url, v.size, v.sha256 FROM depot_metadata_vibs m "
      "JOIN depot_vibs v ON v.source = m.source AND v.relpath = m.vib WHERE m.source = ? AND m.metadata = ? "
      "ORDER BY v.relpath");
  v.bind(source_, metadata);
  while (v.step()) contents.vibs.push_back({v.text(0), v.text(1), v.text(2), v.integer(3), v.text(4)});
  auto b = db_.prepare(fmt::format(
      "SELECT {} FROM depot_metadata_bulletins m JOIN depot_bulletins b ON b.source = m.source AND b.id = m.bulletin "
      "WHERE m.source = ? AND m.metadata = ? ORDER BY b.id",
      "b.id, b.vendor, b.summary, b.severity, b.category, b.release_type, b.release_date, b.versions"));
  b.bind(source_, metadata);
  while (b.step()) contents.bulletins.push_back(read_bulletin(b));
  return contents;
}

std::map<std::string, VibRow> DepotCatalog::vibs() {
  std::map<std::string, VibRow> all;
  auto s = db_.prepare(fmt::format("SELECT {} FROM depot_vibs WHERE source = ?", kVib.sql()));
  s.bind(source_);
  while (s.step()) {
    VibRow row = read_vib(s);
    all.emplace(row.relpath, std::move(row));
  }
  return all;
}

void DepotCatalog::mark_vib_downloading(const std::string& relpath, std::int64_t now) {
  db_.prepare("UPDATE depot_vibs SET state = 'downloading', updated_at = ? WHERE source = ? AND relpath = ?")
      .bind(now, source_, relpath)
      .run();
}

void DepotCatalog::mark_vibs_placed(const std::vector<std::string>& relpaths, std::int64_t now) {
  Database::Transaction transaction(db_);
  auto s = db_.prepare(
      "UPDATE depot_vibs SET state = 'placed', failures = 0, last_error = NULL, next_retry_at = NULL, "
      "placed_at = ?, updated_at = ? WHERE source = ? AND relpath = ?");
  for (const std::string& relpath : relpaths) s.bind(now, now, source_, relpath).run();
  transaction.commit();
}

void DepotCatalog::forget_vib(const std::string& relpath, std::int64_t now) {
  db_.prepare(
         "UPDATE depot_vibs SET state = 'discovered', placed_at = NULL, updated_at = ? "
         "WHERE source = ? AND relpath = ?")
      .bind(now, source_, relpath)
      .run();
}

void DepotCatalog::mark_vib_failed(const std::string& relpath, const std::string& error, std::int64_t next_retry_at,
                                   std::int64_t now) {
  db_.prepare(
         "UPDATE depot_vibs SET state = 'failed', failures = failures + 1, last_error = ?, next_retry_at = ?, "
         "updated_at = ? WHERE source = ? AND relpath = ?")
      .bind(error, next_retry_at, now, source_, relpath)
      .run();
}

void DepotCatalog::set_unreferenced(const std::set<std::string>& relpaths, std::int64_t now) {
  Database::Transaction transaction(db_);
  // The first time a VIB is found unreferenced is kept: the grace period counts from then.
  auto mark = db_.prepare(
      "UPDATE depot_vibs SET unreferenced_since = COALESCE(unreferenced_since, ?) "
      "WHERE source = ? AND relpath = ?");
  auto clear = db_.prepare("UPDATE depot_vibs SET unreferenced_since = NULL WHERE source = ? AND relpath = ?");
  std::vector<std::string> referenced_again;  // read first: no update while the query's cursor is open
  auto marked = db_.prepare("SELECT relpath FROM depot_vibs WHERE source = ? AND unreferenced_since IS NOT NULL");
  marked.bind(source_);
  while (marked.step()) {
    if (!relpaths.count(marked.text(0))) referenced_again.push_back(marked.text(0));
  }
  for (const std::string& relpath : referenced_again) clear.bind(source_, relpath).run();
  for (const std::string& relpath : relpaths) mark.bind(now, source_, relpath).run();
  transaction.commit();
}

std::vector<VibRow> DepotCatalog::unreferenced_vibs() {
  std::vector<VibRow> rows;
  auto s = db_.prepare(
      fmt::format("SELECT {} FROM depot_vibs WHERE source = ? AND unreferenced_since IS NOT NULL", kVib.sql()));
  s.bind(source_);
  while (s.step()) rows.push_back(read_vib(s));
  return rows;
}

void DepotCatalog::delete_vibs(const std::vector<std::string>& relpaths) {
  Database::Transaction transaction(db_);
  auto vib = db_.prepare("DELETE FROM depot_vibs WHERE source = ? AND relpath = ?");
  auto refs = db_.prepare("DELETE FROM depot_metadata_vibs WHERE source = ? AND vib = ?");
  for (const std::string& relpath : relpaths) {
    vib.bind(source_, relpath).run();
    refs.bind(source_, relpath).run();
  }
  transaction.commit();
}

std::vector<BulletinRow> DepotCatalog::bulletins() {
  std::vector<BulletinRow> all;
  auto s =
      db_.prepare(fmt::format("SELECT {} FROM depot_bulletins WHERE source = ? "
                              "ORDER BY release_date IS NULL, release_date, id",
                              kBulletin.sql()));
  s.bind(source_);
  while (s.step()) all.push_back(read_bulletin(s));
  std::map<std::string, BulletinRow*> by_id;
  for (BulletinRow& row : all) by_id.emplace(row.id, &row);
  attach_bulletin_vibs(db_, source_, by_id);
  return all;
}

std::map<std::string, std::set<std::string>> DepotCatalog::bulletin_metadata() {
  std::map<std::string, std::set<std::string>> all;
  auto s = db_.prepare("SELECT bulletin, metadata FROM depot_metadata_bulletins WHERE source = ?");
  s.bind(source_);
  while (s.step()) all[s.text(0)].insert(s.text(1));
  return all;
}

std::vector<BulletinEntry> DepotCatalog::bulletin_entries() {
  std::map<std::string, VibRow> vib_rows = vibs();
  std::map<std::string, std::set<std::string>> zips = bulletin_metadata();
  std::map<std::string, DocumentRow> docs = documents();
  std::map<std::string, std::int64_t> placed_at;
  auto times = db_.prepare("SELECT id, placed_at FROM depot_bulletins WHERE source = ? AND placed_at IS NOT NULL");
  times.bind(source_);
  while (times.step()) placed_at.emplace(times.text(0), times.integer(1));
  std::vector<BulletinEntry> entries;
  for (BulletinRow& bulletin : bulletins()) {
    BulletinEntry entry{std::move(bulletin), "placed", {}, std::nullopt, std::nullopt};
    if (auto when = placed_at.find(entry.bulletin.id); when != placed_at.end()) entry.placed_at = when->second;
    for (const std::string& zip : zips[entry.bulletin.id]) {
      auto doc = docs.find(zip);
      if (doc != docs.end() && doc->second.published_sha256) entry.published_in.push_back(zip);
    }
    bool all_placed = true, downloading = false;
    for (const std::string& relpath : entry.bulletin.vibs) {
      auto vib = vib_rows.find(relpath);
      VibState state = vib == vib_rows.end() ? VibState::discovered : vib->second.state;
      all_placed = all_placed && state == VibState::placed;
      downloading = downloading || state == VibState::downloading;
      if (state == VibState::failed && !entry.last_error) entry.last_error = vib->second.last_error;
    }
    if (entry.last_error) {
      entry.state = "failed";
    } else if (!all_placed || entry.published_in.empty()) {
      entry.state = downloading ? "downloading" : "discovered";
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<BulletinEntry> DepotCatalog::record_placed_bulletins(std::int64_t now) {
  // Most runs make no bulletin placed: one query says so, without loading every entry and VIB row.
  auto unrecorded = db_.prepare(
      fmt::format("SELECT EXISTS (SELECT 1 FROM depot_bulletins b WHERE b.source = ?1 AND b.placed_at IS NULL AND {})",
                  kBulletinIsPlaced));
  unrecorded.bind(source_);
  unrecorded.step();
  if (unrecorded.integer(0) == 0) return {};
  std::vector<BulletinEntry> placed_now;
  Database::Transaction transaction(db_);
  auto mark = db_.prepare("UPDATE depot_bulletins SET placed_at = ? WHERE source = ? AND id = ?");
  for (BulletinEntry& entry : bulletin_entries()) {
    if (entry.state != "placed" || entry.placed_at) continue;
    mark.bind(now, source_, entry.bulletin.id).run();
    entry.placed_at = now;
    placed_now.push_back(std::move(entry));
  }
  transaction.commit();
  return placed_now;
}

DepotCatalog::PlacedBulletins DepotCatalog::placed_bulletins() {
  auto s = db_.prepare(fmt::format(
      "SELECT COUNT(*), MAX(substr(b.release_date, 1, 10)) FROM depot_bulletins b WHERE b.source = ?1 AND {}",
      kBulletinIsPlaced));
  s.bind(source_);
  s.step();
  return {s.integer(0), s.optional_text(1)};
}

std::optional<SourceRow> find_source(Database& db, const std::string& url) {
  auto s = db.prepare("SELECT url, kind, name FROM sources WHERE url = ?");
  s.bind(url);
  if (!s.step()) return std::nullopt;
  return SourceRow{s.text(0), s.text(1), s.text(2)};
}

void record_source(Database& db, const SourceRow& row, std::int64_t now) {
  db.prepare(
        "INSERT INTO sources (url, kind, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(url) DO UPDATE SET kind = excluded.kind, name = excluded.name, last_seen = excluded.last_seen")
      .bind(row.url, row.kind, row.name, now, now)
      .run();
}

std::vector<SourceRow> all_sources(Database& db) {
  std::vector<SourceRow> all;
  auto s = db.prepare("SELECT url, kind, name FROM sources ORDER BY first_seen, url");
  while (s.step()) all.push_back({s.text(0), s.text(1), s.text(2)});
  return all;
}

}  // namespace esxmirror::store
