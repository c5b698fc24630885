#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/source/depot.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/strings.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror::cli {

namespace {

// A KB note (a page without a bundle) has no bundle row: nothing to fetch, only the vendor's note to read.
constexpr const char* kNoBundle = "no-bundle";

std::string state_of(const store::CatalogEntry& entry) {
  return entry.bundle ? store::to_string(entry.bundle->state) : kNoBundle;
}

void check_state_filter(const std::string& filter) {
  if (filter.empty() || filter == kNoBundle || store::bundle_state_from_string(filter)) return;
  throw Error(ExitCode::usage, fmt::format("unknown state '{}': use one of discovered, downloading, verified, "
                                           "placed, failed, pruning, pruned, {}",
                                           filter, kNoBundle));
}

bool wanted(const store::CatalogEntry& entry, const Options& options) {
  if (!options.state_filter.empty() && state_of(entry) != options.state_filter) return false;
  return options.sync.versions.empty() || source::lists_any_version(entry.patch.versions, options.sync.versions);
}

// A depot bulletin is listed when its state passes the filter and one of its platforms is selected (the
// depot's rule: "8.0" lists 8.0.x bulletins).
bool wanted(const store::BulletinEntry& entry, const Options& options) {
  if (!options.state_filter.empty() && entry.state != options.state_filter) return false;
  if (options.sync.versions.empty()) return true;
  return std::any_of(entry.bulletin.versions.begin(), entry.bulletin.versions.end(), [&](const std::string& v) {
    return std::any_of(options.sync.versions.begin(), options.sync.versions.end(),
                       [&](const std::string& w) { return source::depot::version_selects(w, v); });
  });
}

// Every depot's bulletins, with the name of the depot they belong to.
std::vector<std::pair<std::string, store::BulletinEntry>> depot_bulletins(store::Database& db, const Options& options) {
  std::vector<std::pair<std::string, store::BulletinEntry>> all;
  for (const store::SourceRow& source : store::all_sources(db)) {
    if (source.kind != "depot") continue;
    store::DepotCatalog depot(db, source.name);
    for (store::BulletinEntry& entry : depot.bulletin_entries()) {
      if (wanted(entry, options)) all.emplace_back(source.name, std::move(entry));
    }
  }
  return all;
}

nlohmann::json optional_json(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

int run_list(const Options& options) {
  check_state_filter(options.state_filter);  // a usage error before the state is opened
  store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
  store::Catalog catalog(db);
  std::vector<store::CatalogEntry> entries = catalog.entries();
  entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const auto& e) { return !wanted(e, options); }),
                entries.end());
  std::vector<std::pair<std::string, store::BulletinEntry>> bulletins = depot_bulletins(db, options);

  std::string out;
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const store::CatalogEntry& e : entries) {
      const std::optional<store::BundleRow>& b = e.bundle;
      nlohmann::json item = {{"id", e.patch.id},
                             {"versions", e.patch.versions},
                             {"classification", e.patch.classification},
                             {"supersedes", e.patch.supersedes},
                             {"download_url", util::mask_url(e.patch.bundle_url())},
                             {"page_url", util::mask_url(e.patch.page_url)},
                             {"state", state_of(e)}};
      item["release_date"] = optional_json(e.patch.release_date);
      item["md5"] = optional_json(b ? b->md5 : std::nullopt);
      item["sha256"] = optional_json(b ? b->sha256 : std::nullopt);
      item["path"] = optional_json(b ? b->path : std::nullopt);
      item["last_error"] = optional_json(b ? b->last_error : std::nullopt);
      item["pruned_reason"] = optional_json(b ? b->pruned_reason : std::nullopt);
      nlohmann::json links = nlohmann::json::object();
      for (const store::PlacementRow& p : e.placements) links[p.version] = p.path;
      item["placements"] = links;
      list.push_back(std::move(item));
    }
    for (const auto& [depot, e] : bulletins) {
      const store::BulletinRow& b = e.bulletin;
      nlohmann::json item = {{"id", b.id},
                             {"source", depot},
                             {"kind", "bulletin"},
                             {"versions", b.versions},
                             {"severity", b.severity},
                             {"category", b.category},
                             {"summary", b.summary},
                             {"state", e.state},
                             {"vibs", b.vibs.size()},
                             {"metadata", e.published_in}};
      item["release_date"] = optional_json(b.release_date);
      item["last_error"] = optional_json(e.last_error);
      list.push_back(std::move(item));
    }
    out = list.dump(2) + "\n";
  } else {
    std::size_t w = 14;  // the ID column: depot bulletin ids are longer than legacy bundle ids
    for (const auto& entry : bulletins) w = std::max(w, entry.second.bulletin.id.size());
    out = fmt::format("{:<{}} {:<18} {:<10} {:<14} {:<11} {}\n", "ID", w, "VERSIONS", "DATE", "CLASS", "STATE", "PATH");
    for (const store::CatalogEntry& e : entries) {
      out += fmt::format("{:<{}} {:<18} {:<10} {:<14} {:<11} {}\n", e.patch.id, w, util::join(e.patch.versions, ","),
                         e.patch.release_date.value_or("undated"),
                         e.patch.classification.empty() ? "-" : e.patch.classification, state_of(e),
                         e.bundle && e.bundle->path ? *e.bundle->path : "-");
    }
    for (const auto& [depot, e] : bulletins) {
      const store::BulletinRow& b = e.bulletin;
      out += fmt::format("{:<{}} {:<18} {:<10} {:<14} {:<11} {}\n", b.id, w, util::join(b.versions, ","),
                         b.release_date.value_or("undated"), b.severity.empty() ? "-" : b.severity, e.state,
                         e.published_in.empty() ? "-" : depot + "/" + e.published_in.front());
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace esxmirror::cli
