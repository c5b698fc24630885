// manifest.json: what the mirror holds, for tools and for a downstream esxmirror mirroring this one.
#include <nlohmann/json.hpp>

#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/util/url.hpp"
#include "publish/content_rows.hpp"

namespace esxmirror::publish {

namespace {

using nlohmann::json;

json optional_text(const std::optional<std::string>& text) { return text ? json(*text) : json(nullptr); }

// The bundle's own directory lists its files, so a downstream mirror can fetch and verify each one; a
// link names the directory it points to instead.
json bundle_entry(const Row& row, const RepositoryContent& content) {
  const store::CatalogEntry& entry = *row.entry;
  const store::BundleRow& bundle = *entry.bundle;
  json out = {{"id", entry.patch.id},
              {"release_date", optional_text(entry.patch.release_date)},
              {"classification", entry.patch.classification},
              {"supersedes", entry.patch.supersedes},
              {"filename", entry.patch.bundle_file()},
              {"path", row.placement->path},
              {"link_to", row.placement->is_link ? json(bundle.path.value_or("")) : json(nullptr)},
              {"size", bundle.size.value_or(0)},
              {"md5", bundle.md5.value_or("")},
              {"sha256", bundle.sha256.value_or("")}};
  if (row.placement->is_link) return out;
  json files = json::array();
  auto found = content.files.find(entry.patch.id);
  if (found != content.files.end()) {
    for (const store::FileRow& file : found->second) {
      files.push_back({{"path", file.relpath}, {"size", file.size}, {"sha256", file.sha256}});
    }
  }
  out["files"] = std::move(files);
  return out;
}

json note_entry(const store::CatalogEntry& note) {
  return {{"id", note.patch.id},
          {"release_date", optional_text(note.patch.release_date)},
          {"classification", note.patch.classification},
          {"page", util::mask_url(note.patch.page_url)}};
}

}  // namespace

std::string render_manifest(const RepositoryContent& content) {
  json versions = json::object();
  json notes = json::object();
  for (const auto& [version, rows] : rows_by_version(content.entries)) {
    json list = json::array();
    for (const Row& row : rows) list.push_back(bundle_entry(row, content));
    versions[version] = std::move(list);
    json version_notes = json::array();
    for (const store::CatalogEntry* note : notes_for(content.entries, version))
      version_notes.push_back(note_entry(*note));
    if (!version_notes.empty()) notes[version] = std::move(version_notes);
  }
  json depot_list = json::array();
  for (const DepotListing& d : content.depots) {
    depot_list.push_back({{"name", d.name},
                          {"index", d.published ? json(d.name + "/vmw-depot-index.xml") : json(nullptr)},
                          {"metadata", d.metadata},
                          {"bulletins", d.bulletins}});
  }
  json manifest = {
      {"generator", "esxmirror"}, {"manifest_version", 2}, {"newest_release", optional_text(newest_release(content))},
      {"versions", versions},     {"notes", notes},        {"depots", depot_list}};
  return manifest.dump(2) + "\n";
}

}  // namespace esxmirror::publish
