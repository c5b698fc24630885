#include "esxmirror/core/source_kind.hpp"

#include "esxmirror/core/engine_fetcher.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/source/depot.hpp"
#include "esxmirror/source/mirror_manifest.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/depot_catalog.hpp"

namespace esxmirror {

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What a URL most likely is, for wording a failure to read it.
SourceKind guess_from_url(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  if (ends_with(path, ".json")) return SourceKind::mirror;
  return ends_with(path, ".xml") || url.find("{token}") != std::string::npos ? SourceKind::depot
                                                                             : SourceKind::legacy_html;
}

SourceKind kind_of(const std::string& body) {
  if (source::depot::is_depot_index(body)) return SourceKind::depot;
  bool mirror = source::mirror::is_manifest(body) || source::mirror::is_index_page(body);
  return mirror ? SourceKind::mirror : SourceKind::legacy_html;
}

SourceKind recorded_kind(const std::string& name) {
  return name == "depot" ? SourceKind::depot : SourceKind::legacy_html;
}

}  // namespace

const char* to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::detect:
      return "auto";
    case SourceKind::legacy_html:
      return "legacy-html";
    case SourceKind::depot:
      return "depot";
    case SourceKind::mirror:
      return "mirror";
  }
  return "auto";
}

DetectedSource detect_source(const SyncSettings& settings, store::Database& db, const std::string& stored_url) {
  if (settings.source_kind != SourceKind::detect) return {settings.source_kind, std::nullopt};
  if (auto known = store::find_source(db, stored_url)) {
    return {recorded_kind(known->kind), std::nullopt};
  }
  // A mirror source is known by its page row: the manifest kept for the next conditional GET (schema 3's
  // sources table admits only legacy-html and depot). Any other page row is a legacy index's.
  store::Catalog catalog(db);
  if (auto manifest = source::mirror::manifest_url(stored_url)) {
    auto kept = catalog.page(*manifest);
    if (kept && source::mirror::is_manifest(kept->extracted)) return {SourceKind::mirror, std::nullopt};
  }
  if (catalog.page(stored_url)) return {SourceKind::legacy_html, std::nullopt};

  net::Response index = fetch_one(settings.network, settings.retry, {0, stored_url, {}, {}});
  if (index.outcome == net::Outcome::aborted) throw Error(ExitCode::interrupted, "interrupted while reading the index");
  SourceKind kind = index.outcome == net::Outcome::ok ? kind_of(index.body) : guess_from_url(stored_url);
  return {kind, std::move(index)};
}

}  // namespace esxmirror
