// Retention of depot files: a VIB that no published metadata zip of a selected version references any
// more, and a metadata zip the vendor index no longer lists, goes `depot_keep_unreferenced_days` after a
// sync first found it so (core/depot/cleanup.cpp marks it, and removes it itself at the end of a sync).
// `esxmirror prune` removes what is past the grace period without reading the depot again; it never
// removes a VIB that a zip still published references. Each removal is one unlink, so there is nothing to
// decide ahead for a VIB: the mark is the decision, and a killed prune leaves files that the next one removes.
#include <set>

#include <fmt/format.h>

#include "core/depot/depot_context.hpp"
#include "esxmirror/core/prune.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

namespace {

constexpr std::int64_t kDay = 24 * 60 * 60;

std::string since(std::int64_t t) { return util::iso8601(util::from_unix(t)).substr(0, 10); }

class UnreferencedDepotFiles final : public ContentKind {
 public:
  std::string policy(const PruneContext& context) const override {
    if (depots(context).empty()) return "";  // no depot mirrored: nothing to say
    return fmt::format("a depot file no published metadata names goes {} day(s) after a sync found it so",
                       context.settings.depot_keep_unreferenced.count() / kDay);
  }

  std::vector<UsageRow> usage(PruneContext& context) const override {
    std::vector<UsageRow> rows;
    for (const std::string& name : depots(context)) {
      UsageRow row{.source = name, .version = "all", .unit = "VIB(s)"};
      for (const auto& [relpath, vib] : store::DepotCatalog(context.catalog.database(), name).vibs()) {
        if (vib.state != store::VibState::placed) continue;
        ++row.items;
        row.bytes += static_cast<std::uint64_t>(vib.size);
      }
      rows.push_back(row);
    }
    return rows;
  }

  std::vector<RemovalCandidate> removable(PruneContext& context, bool ignore_grace) const override {
    const std::int64_t cutoff =
        ignore_grace ? context.now : context.now - context.settings.depot_keep_unreferenced.count();
    std::vector<RemovalCandidate> out;
    for (const std::string& name : depots(context)) {
      store::DepotCatalog catalog(context.catalog.database(), name);
      std::set<std::string> still_named;  // VIBs of zips that stay published
      for (const auto& [relpath, doc] : catalog.documents()) {
        if (doc.kind != store::DocumentKind::metadata) continue;
        if (doc.unlisted_since && *doc.unlisted_since <= cutoff) {  // published, or decided by a killed prune
          out.push_back({.kind = "metadata zip",
                         .id = relpath,
                         .source = name,
                         .versions = {},
                         .paths = {name + "/" + relpath},
                         .bytes = static_cast<std::uint64_t>(doc.size),
                         .reason = "no longer listed by the vendor index since " + since(*doc.unlisted_since)});
          continue;
        }
        if (!doc.published_sha256) continue;
        for (const store::VibRef& vib : catalog.metadata_contents(relpath).vibs) still_named.insert(vib.relpath);
      }
      for (const auto& [relpath, vib] : catalog.vibs()) {
        if (vib.state != store::VibState::placed || !vib.unreferenced_since || *vib.unreferenced_since > cutoff ||
            still_named.count(relpath)) {
          continue;
        }
        out.push_back({.kind = "VIB",
                       .id = vib.vib_id,
                       .source = name,
                       .versions = {},
                       .paths = {name + "/" + relpath},
                       .bytes = static_cast<std::uint64_t>(vib.size),
                       .reason = "no published metadata names it since " + since(*vib.unreferenced_since)});
      }
    }
    return out;
  }

  // A zip is no longer served from here on, so the published index.html and manifest.json leave it out.
  void decide(const std::vector<RemovalCandidate>& candidates, PruneContext& context) const override {
    for (const RemovalCandidate& c : candidates) {
      if (c.kind == "metadata zip") store::DepotCatalog(context.catalog.database(), c.source).mark_unpublished(c.id);
    }
  }

  void remove(const RemovalCandidate& candidate, PruneContext& context) const override {
    store::DepotCatalog catalog(context.catalog.database(), candidate.source);
    const std::filesystem::path root = context.settings.dest / candidate.source;
    const std::string relpath = candidate.paths.at(0).substr(candidate.source.size() + 1);
    remove_depot_file(root, relpath);
    if (candidate.kind == "VIB") {
      catalog.delete_vibs({relpath});
    } else {
      remove_depot_file(context.settings.state_dir() / "depot" / candidate.source, relpath);
      catalog.delete_document(relpath);
    }
  }

 private:
  static std::vector<std::string> depots(const PruneContext& context) {
    std::set<std::string> names;
    for (const store::SourceRow& source : store::all_sources(context.catalog.database())) {
      if (source.kind == "depot") names.insert(source.name);
    }
    return {names.begin(), names.end()};
  }
};

}  // namespace

std::unique_ptr<ContentKind> unreferenced_depot_files() { return std::make_unique<UnreferencedDepotFiles>(); }

}  // namespace esxmirror
