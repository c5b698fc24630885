// The code parts of migrations (see migrations.hpp): what SQL cannot do.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "esxmirror/store/database.hpp"
#include "esxmirror/store/migrations.hpp"
#include "esxmirror/util/secrets.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::store {

namespace {

using nlohmann::json;

// Every URL inside free text (error messages) in the form a message may show: no userinfo, values masked.
std::string scrub_text(const std::string& text) {
  return util::transform_urls(text, [](const std::string& url) { return util::mask_url(util::scrub_url(url)); });
}

// Every URL inside every string of a JSON document (what a page yielded: links, patch records).
void scrub_json(json& value) {
  if (value.is_string()) {
    value = util::transform_urls(value.get<std::string>(), util::scrub_url);
  } else if (value.is_array() || value.is_object()) {
    for (json& child : value) scrub_json(child);
  }
}

std::string scrub_extracted(const std::string& extracted) {
  json value = json::parse(extracted, nullptr, false);
  if (value.is_discarded()) return "null";  // unreadable anyway: the page is read afresh
  scrub_json(value);
  return value.dump();
}

// Schema 2: releases before it stored URLs with their userinfo and tokens. Rows are rewritten with
// secure_delete on, so the pages written (into the -wal first) hold no trace of the old cells even if the
// -wal cannot be truncated at once; Database::migrate then VACUUMs away the free pages older runs left.
void scrub_stored_urls(Database& db) {
  db.exec("PRAGMA secure_delete = ON");

  struct Page {
    std::string url, extracted;
    std::int64_t checked_at, changed_at;
  };
  std::vector<Page> pages;
  auto read = db.prepare("SELECT url, extracted, checked_at, changed_at FROM pages");
  while (read.step()) pages.push_back({read.text(0), read.text(1), read.integer(2), read.integer(3)});
  db.exec("DELETE FROM pages");
  // Two URLs that differed only in their secrets become one page: either row will do, it is read again.
  auto write = db.prepare(
      "INSERT OR REPLACE INTO pages (url, etag, last_modified, checked_at, changed_at, extracted) "
      "VALUES (?, '', '', ?, ?, ?)");
  for (const Page& p : pages)
    write.bind(util::scrub_url(p.url), p.checked_at, p.changed_at, scrub_extracted(p.extracted)).run();

  struct Patch {
    std::string id, page_url, download_url;
  };
  std::vector<Patch> patches;
  auto patch_rows = db.prepare("SELECT id, page_url, download_url FROM patches");
  while (patch_rows.step()) patches.push_back({patch_rows.text(0), patch_rows.text(1), patch_rows.text(2)});
  auto update_patch = db.prepare("UPDATE patches SET page_url = ?, download_url = ? WHERE id = ?");
  for (const Patch& p : patches)
    update_patch.bind(util::scrub_url(p.page_url), util::scrub_url(p.download_url), p.id).run();

  // Error texts were masked when written, but masking kept user names; scrubbing removes the userinfo.
  struct Text {
    std::int64_t rowid;
    std::string text;
  };
  auto scrub_column = [&](const char* table, const char* column) {
    std::vector<Text> rows;
    auto select =
        db.prepare(std::string("SELECT rowid, ") + column + " FROM " + table + " WHERE " + column + " IS NOT NULL");
    while (select.step()) rows.push_back({select.integer(0), select.text(1)});
    auto update = db.prepare(std::string("UPDATE ") + table + " SET " + column + " = ? WHERE rowid = ?");
    for (const Text& row : rows) update.bind(scrub_text(row.text), row.rowid).run();
  };
  scrub_column("bundles", "last_error");
  scrub_column("runs", "message");
}

}  // namespace

MigrationCode migration_code(int number) {
  switch (number) {
    case 2:
      return scrub_stored_urls;
    default:
      return nullptr;
  }
}

}  // namespace esxmirror::store
