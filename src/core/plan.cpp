#include "esxmirror/core/plan.hpp"

#include <algorithm>

#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror {

std::vector<std::string> selected_versions(const PatchRecord& patch, const std::vector<std::string>& selection) {
  std::vector<std::string> matched;
  for (const std::string& wanted : selection) {
    if (source::lists_version(patch.versions, wanted) &&
        std::find(matched.begin(), matched.end(), wanted) == matched.end())
      matched.push_back(wanted);
  }
  return matched;
}

namespace {

bool classification_selected(const PatchRecord& patch, const std::vector<std::string>& classifications) {
  if (classifications.empty()) return true;
  std::string mine = util::to_lower(util::trim(patch.classification));
  return std::any_of(classifications.begin(), classifications.end(),
                     [&](const std::string& c) { return util::to_lower(util::trim(c)) == mine; });
}

PlannedPatch plan_one(const PatchRecord& patch, std::vector<std::string> versions, const PlanInput& input) {
  PlannedPatch planned{patch, std::move(versions), Action::fetch, {}};
  auto found = input.bundles.find(patch.id);
  if (found == input.bundles.end()) return planned;
  const store::BundleRow& bundle = found->second;

  if (bundle.state == store::BundleState::pruning || bundle.state == store::BundleState::pruned) {
    // Removed by retention because newer placed bundles supersede it under these versions: fetched again
    // only for a selected version outside them (one selected since).
    const std::vector<std::string>& covered = bundle.pruned_versions;
    bool all_covered = std::all_of(planned.versions.begin(), planned.versions.end(), [&](const std::string& v) {
      return std::find(covered.begin(), covered.end(), v) != covered.end();
    });
    if (all_covered) planned.action = Action::skip;
    return planned;
  }
  if (bundle.state == store::BundleState::placed && !input.missing_on_disk.count(patch.id)) {
    if (patch.md5() && bundle.verified_md5_expected && *patch.md5() != *bundle.verified_md5_expected) {
      if (bundle.next_retry_at && *bundle.next_retry_at > input.now) {
        // Its replacement failed before (the old copy stays placed): wait out the backoff like any failure.
        planned.action = Action::defer;
        planned.reason = bundle.last_error.value_or("its replacement failed before");
        return planned;
      }
      planned.action = Action::replace;
      planned.reason = "page md5 changed from " + *bundle.verified_md5_expected + " to " + *patch.md5();
      return planned;
    }
    auto placed = input.placed_versions.find(patch.id);
    bool all_linked = placed != input.placed_versions.end() &&
                      std::all_of(planned.versions.begin(), planned.versions.end(),
                                  [&](const std::string& v) { return placed->second.count(v) > 0; });
    planned.action = all_linked ? Action::skip : Action::link;
    return planned;
  }
  if (bundle.state == store::BundleState::failed && bundle.next_retry_at && *bundle.next_retry_at > input.now) {
    planned.action = Action::defer;
    planned.reason = bundle.last_error.value_or("failed before");
  }
  return planned;
}

}  // namespace

std::optional<PlannedPatch> plan_patch(const PatchRecord& patch, const PlanInput& input) {
  if (!patch.has_bundle() || !classification_selected(patch, input.classifications)) return std::nullopt;
  std::vector<std::string> versions = selected_versions(patch, input.versions);
  if (versions.empty()) return std::nullopt;
  return plan_one(patch, std::move(versions), input);
}

std::vector<PlannedPatch> plan_patches(const PlanInput& input) {
  std::vector<PlannedPatch> plan;
  for (const PatchRecord& patch : input.patches) {
    if (auto planned = plan_patch(patch, input)) plan.push_back(std::move(*planned));
  }
  return plan;
}

std::int64_t next_retry_at(int failures, std::int64_t now, int failures_before_backoff, std::int64_t backoff_seconds,
                           std::int64_t backoff_max_seconds) {
  // The first failures are retried on the very next run (a transient outage should not cost a night);
  // after that the delay doubles with each failure, up to the cap.
  if (failures <= failures_before_backoff) return now;
  int doublings = std::min(failures - failures_before_backoff - 1, 30);
  std::int64_t delay = backoff_seconds;
  for (int i = 0; i < doublings && delay < backoff_max_seconds; ++i) delay *= 2;
  return now + std::min(delay, backoff_max_seconds);
}

}  // namespace esxmirror
