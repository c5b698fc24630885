#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.hpp"
#include "esxmirror/core/patch_json.hpp"
#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::cli {

namespace {

bool wanted(const store::CatalogEntry& entry, const Options& options) {
  if (!options.state_filter.empty()) {
    store::BundleState state = store::bundle_state_from_string(options.state_filter);
    if (!entry.bundle || entry.bundle->state != state) return false;
  }
  if (options.sync.versions.empty()) return true;
  return std::any_of(entry.patch.versions.begin(), entry.patch.versions.end(), [&](const std::string& v) {
    return std::any_of(options.sync.versions.begin(), options.sync.versions.end(),
                       [&](const std::string& w) { return source::version_matches(v, w); });
  });
}

}  // namespace

int run_list(const Options& options) {
  if (!options.state_filter.empty()) store::bundle_state_from_string(options.state_filter);  // usage error early
  store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
  store::Catalog catalog(db);
  std::vector<store::CatalogEntry> entries = catalog.entries();
  entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const auto& e) { return !wanted(e, options); }),
                entries.end());

  std::string out;
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const store::CatalogEntry& e : entries) {
      nlohmann::json item = {{"id", e.patch.id},
                             {"versions", e.patch.versions},
                             {"classification", e.patch.classification},
                             {"supersedes", e.patch.supersedes},
                             {"download_url", e.patch.download_url},
                             {"state", e.bundle ? store::to_string(e.bundle->state) : "discovered"}};
      item["release_date"] = e.patch.release_date ? nlohmann::json(*e.patch.release_date) : nlohmann::json(nullptr);
      item["md5"] = e.bundle && e.bundle->md5 ? nlohmann::json(*e.bundle->md5) : nlohmann::json(nullptr);
      item["sha256"] = e.bundle && e.bundle->sha256 ? nlohmann::json(*e.bundle->sha256) : nlohmann::json(nullptr);
      item["path"] = e.bundle && e.bundle->path ? nlohmann::json(*e.bundle->path) : nlohmann::json(nullptr);
      item["last_error"] = e.bundle && e.bundle->last_error ? nlohmann::json(*e.bundle->last_error) : nlohmann::json(nullptr);
      nlohmann::json links = nlohmann::json::object();
      for (const store::PlacementRow& p : e.placements) links[p.version] = p.path;
      item["placements"] = links;
      list.push_back(std::move(item));
    }
    out = list.dump(2) + "\n";
  } else {
    out = fmt::format("{:<14} {:<18} {:<10} {:<14} {:<11} {}\n", "ID", "VERSIONS", "DATE", "CLASS", "STATE", "PATH");
    for (const store::CatalogEntry& e : entries) {
      out += fmt::format("{:<14} {:<18} {:<10} {:<14} {:<11} {}\n", e.patch.id, util::join(e.patch.versions, ","),
                         e.patch.release_date.value_or("undated"),
                         e.patch.classification.empty() ? "-" : e.patch.classification,
                         e.bundle ? store::to_string(e.bundle->state) : "discovered",
                         e.bundle && e.bundle->path ? *e.bundle->path : "-");
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace esxmirror::cli
