#include "esxmirror/publish/repository_index.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::publish {

namespace {

struct Row {
  const store::CatalogEntry* entry;
  const store::PlacementRow* placement;
};

// Version -> placed bundles under it, in catalog order (by date, then id).
std::map<std::string, std::vector<Row>> rows_by_version(const std::vector<store::CatalogEntry>& entries) {
  std::map<std::string, std::vector<Row>> rows;
  for (const store::CatalogEntry& entry : entries) {
    if (!entry.bundle || entry.bundle->state != store::BundleState::placed) continue;
    for (const store::PlacementRow& placement : entry.placements) rows[placement.version].push_back({&entry, &placement});
  }
  return rows;
}

// The KB notes (pages without a bundle: the vendor's instructions) for `version`, in catalog order.
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

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<DepotListing> depot_listings(store::Database& db) {
  std::vector<DepotListing> listings;
  for (const store::SourceRow& source : store::all_sources(db)) {
    if (source.kind != "depot") continue;
    store::DepotCatalog depot(db, source.name);
    DepotListing listing{source.name, false, {}, 0};
    for (const auto& [relpath, doc] : depot.documents()) {
      if (!doc.published_sha256) continue;
      if (doc.kind == store::DocumentKind::depot_index) listing.published = true;
      if (doc.kind == store::DocumentKind::metadata) listing.metadata.push_back(source.name + "/" + relpath);
    }
    listing.bulletins = static_cast<int>(depot.placed_bulletin_count());
    listings.push_back(std::move(listing));
  }
  return listings;
}

std::string render_manifest(const std::vector<store::CatalogEntry>& entries, const std::vector<DepotListing>& depots,
                            util::TimePoint generated) {
  nlohmann::json versions = nlohmann::json::object();
  for (const auto& [version, rows] : rows_by_version(entries)) {
    nlohmann::json list = nlohmann::json::array();
    for (const Row& row : rows) {
      const store::BundleRow& bundle = *row.entry->bundle;
      list.push_back({{"id", row.entry->patch.id},
                      {"release_date", row.entry->patch.release_date ? nlohmann::json(*row.entry->patch.release_date)
                                                                      : nlohmann::json(nullptr)},
                      {"classification", row.entry->patch.classification},
                      {"supersedes", row.entry->patch.supersedes},
                      {"path", row.placement->path},
                      {"link_to", row.placement->is_link ? nlohmann::json(bundle.path.value_or(""))
                                                          : nlohmann::json(nullptr)},
                      {"size", bundle.size.value_or(0)},
                      {"md5", bundle.md5.value_or("")},
                      {"sha256", bundle.sha256.value_or("")}});
    }
    versions[version] = std::move(list);
  }
  nlohmann::json depot_list = nlohmann::json::array();
  for (const DepotListing& d : depots) {
    depot_list.push_back({{"name", d.name},
                          {"index", d.published ? nlohmann::json(d.name + "/vmw-depot-index.xml") : nlohmann::json(nullptr)},
                          {"metadata", d.metadata},
                          {"bulletins", d.bulletins}});
  }
  nlohmann::json manifest = {{"generator", "esxmirror"}, {"generated_at", util::iso8601(generated)},
                             {"versions", versions}, {"depots", depot_list}};
  return manifest.dump(2) + "\n";
}

std::string render_index_html(const std::vector<store::CatalogEntry>& entries, const std::vector<DepotListing>& depots,
                              util::TimePoint generated) {
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ESX patch mirror</title>\n"
      "<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
      "padding:2px 6px;text-align:left}}code{{font-size:85%}}</style></head><body>\n"
      "<h1>ESX patch mirror</h1>\n<p>Generated {} by esxmirror. Machine-readable: "
      "<a href=\"manifest.json\">manifest.json</a>.</p>\n",
      util::iso8601(generated));
  if (!depots.empty()) {
    html += "<h2>Online depots</h2>\n<p>Point ESXi hosts, vCenter Lifecycle Manager or PowerCLI at a depot "
            "index below.</p>\n<table>\n<tr><th>Depot</th><th>Depot index</th><th>Metadata</th><th>Bulletins</th>"
            "</tr>\n";
    for (const DepotListing& d : depots) {
      std::string index = d.published ? fmt::format("<a href=\"{0}/vmw-depot-index.xml\">{0}/vmw-depot-index.xml</a>",
                                                    html_escape(d.name))
                                      : "not published yet";
      std::string zips;
      for (const std::string& zip : d.metadata) zips += fmt::format("<code>{}</code><br>", html_escape(zip));
      html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(d.name), index,
                          zips.empty() ? "-" : zips, d.bulletins);
    }
    html += "</table>\n";
  }
  auto rows = rows_by_version(entries);
  if (rows.empty()) html += "<p>No bundles mirrored yet.</p>\n";
  for (const auto& [version, list] : rows) {
    html += fmt::format("<h2>ESX {}</h2>\n<table>\n<tr><th>Release date</th><th>Bundle</th><th>Classification</th>"
                        "<th>Size</th><th>md5 / sha256</th></tr>\n",
                        html_escape(version));
    for (const Row& row : list) {
      const store::BundleRow& bundle = *row.entry->bundle;
      html += fmt::format(
          "<tr><td>{}</td><td><a href=\"{}/\">{}</a></td><td>{}</td><td>{}</td><td><code>{}</code><br>"
          "<code>{}</code></td></tr>\n",
          html_escape(row.entry->patch.release_date.value_or("undated")), html_escape(row.placement->path),
          html_escape(row.entry->patch.id), html_escape(row.entry->patch.classification),
          util::human_bytes(static_cast<unsigned long long>(bundle.size.value_or(0))), html_escape(bundle.md5.value_or("")),
          html_escape(bundle.sha256.value_or("")));
    }
    html += "</table>\n";
    std::vector<const store::CatalogEntry*> notes = notes_for(entries, version);
    if (notes.empty()) continue;
    html += fmt::format("<h3>Notes without a download (ESX {})</h3>\n<table>\n<tr><th>Release date</th><th>Note</th>"
                        "<th>Classification</th></tr>\n",
                        html_escape(version));
    for (const store::CatalogEntry* note : notes) {
      html += fmt::format("<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td></tr>\n",
                          html_escape(note->patch.release_date.value_or("undated")),
                          html_escape(util::mask_url(note->patch.page_url)), html_escape(note->patch.id),
                          html_escape(note->patch.classification));
    }
    html += "</table>\n";
  }
  html += "</body></html>\n";
  return html;
}

void write_repository_index(const std::filesystem::path& dest, const std::vector<store::CatalogEntry>& entries,
                            const std::vector<DepotListing>& depots, util::TimePoint generated,
                            const std::filesystem::path& temp_dir) {
  if (temp_dir.empty()) {
    util::write_file_atomic(dest / "manifest.json", render_manifest(entries, depots, generated));
    util::write_file_atomic(dest / "index.html", render_index_html(entries, depots, generated));
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(temp_dir, ec);  // a failure shows as the write's own error
  util::write_file_atomic(dest / "manifest.json", render_manifest(entries, depots, generated), temp_dir);
  util::write_file_atomic(dest / "index.html", render_index_html(entries, depots, generated), temp_dir);
}

}  // namespace esxmirror::publish
