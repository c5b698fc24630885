#pragma once
// Planning: which selected patches to fetch, replace, link or skip. Pure: values in, values out.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "esxmirror/core/patch.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

enum class Action {
  fetch,    // never placed (or failed and due, or pruned but now selected for a version it was not
            // superseded under): download, verify, unpack, place
  replace,  // placed, but the page's md5 changed: fetch again, swap in atomically
  link,     // placed; some selected version lacks its link
  skip,     // placed and unchanged, or pruned (superseded) under every selected version of it
  defer     // failed before and not due yet
};

struct PlannedPatch {
  PatchRecord patch;
  std::vector<std::string> versions;  // selected versions this patch is for, in selection order
  Action action = Action::skip;
  std::string reason;  // why (for replace and defer)
};

struct PlanInput {
  std::vector<PatchRecord> patches;                              // discovered, with bundles
  std::vector<std::string> versions;                             // selected, in order
  std::vector<std::string> classifications;                      // empty: all
  std::map<std::string, store::BundleRow> bundles;               // catalog state by id
  std::map<std::string, std::set<std::string>> placed_versions;  // id -> versions with a placement
  std::set<std::string> missing_on_disk;                         // ids whose placed directory is gone
  std::int64_t now = 0;
};

// One entry per selected patch (those for a selected version and classification), in input order.
std::vector<PlannedPatch> plan_patches(const PlanInput& input);

// plan_patches for one patch (input.patches is not read): nullopt when it is not selected.
std::optional<PlannedPatch> plan_patch(const PatchRecord& patch, const PlanInput& input);

// The selected versions among those a page lists, in selection order (exact match).
std::vector<std::string> selected_versions(const PatchRecord& patch, const std::vector<std::string>& selection);

// When a patch that failed `failures` times in a row is due again (unix seconds).
std::int64_t next_retry_at(int failures, std::int64_t now, int failures_before_backoff, std::int64_t backoff_seconds,
                           std::int64_t backoff_max_seconds);

}  // namespace esxmirror
