#include "esxmirror/core/adopt.hpp"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "esxmirror/bundle/layout.hpp"
#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/convert_layout.hpp"
#include "esxmirror/util/hash.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

bool adopt_placed_copy(const PlannedPatch& planned, MirrorContext& context) {
  const PatchRecord& patch = planned.patch;
  if (!bundle::is_safe_component(patch.id) || !bundle::is_safe_component(planned.versions.front())) return false;
  std::string dir_name = bundle::bundle_dir_name(patch.release_date, patch.id);
  fs::path primary = fs::path(planned.versions.front()) / dir_name;
  fs::path dir = context.settings.dest / primary;
  if (!fs::is_directory(fs::symlink_status(dir))) return false;

  store::Placed placed;
  const std::string archive = bundle::kept_archive_name(patch.bundle().relative_path, patch.id);
  if (fs::is_regular_file(fs::symlink_status(dir / archive))) {
    util::Digests digests = util::hash_file(dir / archive);
    if (patch.md5() && *patch.md5() != digests.md5) return false;
    placed.md5 = digests.md5;
    placed.sha256 = digests.sha256;
    placed.size = static_cast<std::int64_t>(fs::file_size(dir / archive));
  } else if (auto row = context.catalog.bundle(patch.id); row && row->state == store::BundleState::verified &&
                                                          row->md5 && row->sha256 && row->size &&
                                                          (!patch.md5() || row->verified_md5_expected == patch.md5())) {
    // Verified and being renamed into place when the last run stopped: this copy is that download.
    placed.md5 = *row->md5;
    placed.sha256 = *row->sha256;
    placed.size = *row->size;
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    placed.files.push_back({entry.path().lexically_relative(dir).generic_string(),
                            static_cast<std::int64_t>(entry.file_size()), util::hash_file(entry.path()).sha256});
  }
  std::sort(placed.files.begin(), placed.files.end(),
            [](const auto& a, const auto& b) { return a.relpath < b.relpath; });
  placed.verified_md5_expected = patch.md5();
  placed.path = primary.generic_string();
  placed.placements.push_back({planned.versions.front(), placed.path, false});
  for (std::size_t i = 1; i < planned.versions.size(); ++i) {
    fs::path link = fs::path(planned.versions[i]) / dir_name;
    if (!bundle::is_safe_component(planned.versions[i])) continue;
    bundle::place_link(dir, context.settings.dest / link, context.settings.staging_dir());
    placed.placements.push_back({planned.versions[i], link.generic_string(), true});
  }
  // A copy placed by a release before schema 2 (<date>_<bundle>/<bundle>/...) is recorded as it is, then
  // converted like any other.
  if (bundle::holds_nested_tree(dir, patch.id, archive)) placed.layout = store::BundleLayout::nested;
  context.catalog.mark_placed(patch.id, placed, util::to_unix(context.clock.now()));
  if (convert_nested_bundle(context.settings, context.catalog, patch.id)) ++context.report.converted;
  spdlog::info("{}: adopted the copy already at {} (not fetched again)", patch.id, placed.path);
  context.report.patches.push_back({.id = patch.id,
                                    .versions = planned.versions,
                                    .outcome = PatchOutcome::skipped,
                                    .reason = "adopted existing copy",
                                    .path = placed.path,
                                    .url = util::mask_url(patch.bundle().url)});
  return true;
}

}  // namespace esxmirror
