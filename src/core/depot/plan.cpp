#include "esxmirror/core/depot_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace esxmirror {

DepotPlan plan_vibs(const DepotPlanInput& input) {
  DepotPlan plan;
  std::map<std::string, std::pair<const store::VibRef*, const std::string*>> wanted;  // relpath -> (vib, zip)
  for (const MetadataSnapshot& zip : input.metadata) {
    for (const store::VibRef& vib : zip.contents.vibs) {
      auto [it, inserted] = wanted.emplace(vib.relpath, std::make_pair(&vib, &zip.relpath));
      if (inserted) continue;
      const store::VibRef& first = *it->second.first;
      if (first.size != vib.size || first.sha256 != vib.sha256) {
        plan.conflicts.push_back(fmt::format(
            "{} is described as {} bytes sha-256 {} by {} but as {} bytes sha-256 {} by {}; {} is not published",
            vib.relpath, first.size, first.sha256, *it->second.second, vib.size, vib.sha256, zip.relpath, zip.relpath));
        plan.blocked.insert(zip.relpath);
      }
    }
  }
  for (const auto& [relpath, entry] : wanted) {
    const store::VibRef& vib = *entry.first;
    auto row = input.vibs.find(relpath);
    if (row == input.vibs.end()) {
      plan.fetch.push_back(vib);
      continue;
    }
    const store::VibRow& known = row->second;
    bool same_file = known.size == vib.size && known.sha256 == vib.sha256;
    if (known.state == store::VibState::placed && same_file && !input.missing_on_disk.count(relpath)) {
      plan.in_place.insert(relpath);
    } else if (known.state == store::VibState::failed && same_file && known.next_retry_at &&
               *known.next_retry_at > input.now) {
      plan.deferred.push_back({vib, known.last_error.value_or("failed before")});
    } else {
      plan.fetch.push_back(vib);
    }
  }
  return plan;
}

bool publishable(const MetadataSnapshot& zip, const std::set<std::string>& placed,
                 const std::set<std::string>& blocked) {
  if (blocked.count(zip.relpath)) return false;
  return std::all_of(zip.contents.vibs.begin(), zip.contents.vibs.end(),
                     [&](const store::VibRef& vib) { return placed.count(vib.relpath) > 0; });
}

}  // namespace esxmirror
