#include "esxmirror/core/source_kind.hpp"

#include "esxmirror/core/error.hpp"
#include "esxmirror/source/depot.hpp"
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
  return ends_with(path, ".xml") || url.find("{token}") != std::string::npos ? SourceKind::depot
                                                                            : SourceKind::legacy_html;
}

}  // namespace

const char* to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::detect: return "auto";
    case SourceKind::legacy_html: return "legacy-html";
    case SourceKind::depot: return "depot";
  }
  return "auto";
}

DetectedSource detect_source(const SyncSettings& settings, store::Database& db, const std::string& stored_url) {
  if (settings.source_kind != SourceKind::detect) return {settings.source_kind, std::nullopt};
  if (auto known = store::find_source(db, stored_url)) {
    return {known->kind == "depot" ? SourceKind::depot : SourceKind::legacy_html, std::nullopt};
  }
  if (store::Catalog(db).page(stored_url)) return {SourceKind::legacy_html, std::nullopt};

  net::TransferEngine engine(settings.network, settings.retry, 1);
  net::Response index;
  engine.add({0, stored_url, {}, {}});
  engine.run([&](net::Response&& r) { index = std::move(r); });
  if (index.outcome == net::Outcome::aborted) throw Error(ExitCode::interrupted, "interrupted while reading the index");
  SourceKind kind = index.outcome == net::Outcome::ok
                        ? (source::depot::is_depot_index(index.body) ? SourceKind::depot : SourceKind::legacy_html)
                        : guess_from_url(stored_url);
  return {kind, std::move(index)};
}

}  // namespace esxmirror
