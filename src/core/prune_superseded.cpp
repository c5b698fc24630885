#include "esxmirror/core/prune_superseded.hpp"

#include <algorithm>
#include <map>

#include "esxmirror/core/plan.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror {

namespace {

using Ids = std::set<std::string>;

// id -> every id that supersedes it, directly or through others (it may contain the id itself when pages
// name each other in a circle).
std::map<std::string, Ids> transitive_superseders(const std::vector<store::CatalogEntry>& entries) {
  std::map<std::string, Ids> direct;
  for (const store::CatalogEntry& e : entries) {
    for (const std::string& older : e.patch.supersedes) direct[older].insert(e.patch.id);
  }
  std::map<std::string, Ids> all;
  for (const auto& [id, first] : direct) {
    Ids seen;
    std::vector<std::string> todo(first.begin(), first.end());
    while (!todo.empty()) {
      std::string next = std::move(todo.back());
      todo.pop_back();
      if (!seen.insert(next).second) continue;
      auto further = direct.find(next);
      if (further != direct.end()) todo.insert(todo.end(), further->second.begin(), further->second.end());
    }
    all.emplace(id, std::move(seen));
  }
  return all;
}

bool is_placed(const store::CatalogEntry& e) { return e.bundle && e.bundle->state == store::BundleState::placed; }

bool placed_under(const store::CatalogEntry& e, const std::string& version) {
  return std::any_of(e.placements.begin(), e.placements.end(),
                     [&](const store::PlacementRow& p) { return p.version == version; });
}

// The newer of two witnesses for the reason text: the later release, then the higher id.
bool released_later(const store::CatalogEntry& a, const store::CatalogEntry& b) {
  const std::string date_a = a.patch.release_date.value_or(""), date_b = b.patch.release_date.value_or("");
  return date_a != date_b ? date_a > date_b : a.patch.id > b.patch.id;
}

// The versions a bundle must stay available under: where it is placed, and where the selection wants it.
std::vector<std::string> needed_versions(const store::CatalogEntry& e, const std::vector<std::string>& selection) {
  std::set<std::string> needed;
  for (const store::PlacementRow& p : e.placements) needed.insert(p.version);
  for (const std::string& v : selected_versions(e.patch, selection)) needed.insert(v);
  return {needed.begin(), needed.end()};
}

}  // namespace

std::vector<SupersededBundle> superseded_bundles(const std::vector<store::CatalogEntry>& entries,
                                                 const SupersededPolicy& policy, std::int64_t now) {
  const std::map<std::string, Ids> superseders = transitive_superseders(entries);
  std::map<std::string, const store::CatalogEntry*> by_id;
  for (const store::CatalogEntry& e : entries) by_id.emplace(e.patch.id, &e);

  auto newer = [&](const std::string& b, const std::string& a) {
    auto of_b = superseders.find(b);
    return superseders.at(a).count(b) > 0 && (of_b == superseders.end() || of_b->second.count(a) == 0);
  };
  // Placed long enough and still on disk: hosts have had the grace period to move to it.
  auto can_witness = [&](const store::CatalogEntry& e) {
    return is_placed(e) && e.bundle->placed_at && *e.bundle->placed_at <= now - policy.keep_seconds &&
           policy.missing_on_disk.count(e.patch.id) == 0;
  };

  std::vector<SupersededBundle> removable;
  for (const store::CatalogEntry& e : entries) {
    auto mine = superseders.find(e.patch.id);
    if (!is_placed(e) || mine == superseders.end()) continue;
    std::vector<std::string> needed = needed_versions(e, policy.selected_versions);
    std::map<std::string, std::vector<std::string>> versions_by_witness;
    bool covered = !needed.empty();
    for (const std::string& version : needed) {
      const store::CatalogEntry* best = nullptr;
      for (const std::string& id : mine->second) {
        auto witness = by_id.find(id);
        if (witness == by_id.end()) continue;
        const store::CatalogEntry& w = *witness->second;
        if (!can_witness(w) || !newer(id, e.patch.id) || !placed_under(w, version)) continue;
        if (!best || released_later(w, *best)) best = &w;
      }
      if (!best) {
        covered = false;
        break;
      }
      versions_by_witness[best->patch.id].push_back(version);
    }
    if (!covered) continue;
    std::vector<std::string> parts;
    for (const auto& [witness, versions] : versions_by_witness) {
      parts.push_back(witness + " under " + util::join(versions, ", "));
    }
    removable.push_back({e.patch.id, needed, "superseded by " + util::join(parts, "; ")});
  }
  return removable;
}

}  // namespace esxmirror
