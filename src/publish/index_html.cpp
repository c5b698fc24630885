// index.html: what the mirror holds, for people.
#include <fmt/format.h>

#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"
#include "publish/content_rows.hpp"

namespace esxmirror::publish {

namespace {

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_index_html(const RepositoryContent& content) {
  const std::vector<store::CatalogEntry>& entries = content.entries;
  const std::vector<DepotListing>& depots = content.depots;
  const std::optional<std::string> newest = newest_release(content);
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"generator\" content=\"esxmirror\">"
      "<title>ESX patch mirror</title>\n"
      "<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
      "padding:2px 6px;text-align:left}}code{{font-size:85%}}</style></head><body>\n"
      "<h1>ESX patch mirror</h1>\n<p>Published by esxmirror{}. Machine-readable: "
      "<a href=\"manifest.json\">manifest.json</a>.</p>\n",
      newest ? "; the newest patch here was released " + html_escape(*newest) : std::string());
  if (!depots.empty()) {
    html +=
        "<h2>Online depots</h2>\n<p>Point ESXi hosts, vCenter Lifecycle Manager or PowerCLI at a depot "
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
    html += fmt::format(
        "<h2>ESX {}</h2>\n<table>\n<tr><th>Release date</th><th>Bundle</th><th>Classification</th>"
        "<th>Size</th><th>md5 / sha256</th></tr>\n",
        html_escape(version));
    for (const Row& row : list) {
      const store::BundleRow& bundle = *row.entry->bundle;
      html += fmt::format(
          "<tr><td>{}</td><td><a href=\"{}/\">{}</a></td><td>{}</td><td>{}</td><td><code>{}</code><br>"
          "<code>{}</code></td></tr>\n",
          html_escape(row.entry->patch.release_date.value_or("undated")), html_escape(row.placement->path),
          html_escape(row.entry->patch.id), html_escape(row.entry->patch.classification),
          util::human_bytes(static_cast<unsigned long long>(bundle.size.value_or(0))),
          html_escape(bundle.md5.value_or("")), html_escape(bundle.sha256.value_or("")));
    }
    html += "</table>\n";
    std::vector<const store::CatalogEntry*> notes = notes_for(entries, version);
    if (notes.empty()) continue;
    html += fmt::format(
        "<h3>Notes without a download (ESX {})</h3>\n<table>\n<tr><th>Release date</th><th>Note</th>"
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

}  // namespace esxmirror::publish
