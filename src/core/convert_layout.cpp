#include "esxmirror/core/convert_layout.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "esxmirror/bundle/layout.hpp"
#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/util/fs.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() == fs::file_type::regular;
}

bool all_files_in(const fs::path& dir, const std::vector<store::FileRow>& rows) {
  return std::all_of(rows.begin(), rows.end(), [&](const store::FileRow& row) { return is_file(dir / row.relpath); });
}

// Builds the flat tree of `dir` (the contents of dir/<bundle>, plus the kept archive) out of hard links
// in staging and exchanges it with `dir` atomically; the old tree, now in staging, is then removed. A
// run killed before the exchange leaves only staging debris (cleaned by the next run); after it, the new
// tree is in place and the old one is debris.
void swap_in_flat_tree(const SyncSettings& settings, const fs::path& dir, const std::string& bundle,
                       const std::string& archive) {
  const fs::path flat = settings.staging_dir() / (bundle + ".relayout");
  std::error_code ec;
  fs::remove_all(flat, ec);
  fs::create_directories(settings.staging_dir(), ec);
  if (ec) {
    throw Error(ExitCode::storage, fmt::format("cannot create {}: {}", settings.staging_dir().string(), ec.message()));
  }
  util::link_tree(dir / bundle, flat);
  if (is_file(dir / archive)) {
    if (fs::symlink_status(flat / archive, ec).type() == fs::file_type::not_found) {
      fs::create_hard_link(dir / archive, flat / archive, ec);
      if (ec) {
        throw Error(ExitCode::storage, fmt::format("cannot link {}: {}", (dir / archive).string(), ec.message()));
      }
    } else {
      warn(settings,
           fmt::format("{}: the archive holds an entry named {} itself; the kept archive is dropped", bundle, archive));
    }
  }
  bundle::place_directory(flat, dir);
}

}  // namespace

bool convert_nested_bundle(const SyncSettings& settings, store::Catalog& catalog, const std::string& id) {
  auto row = catalog.bundle(id);
  auto patch = catalog.patch(id);
  if (!row || !patch || row->state != store::BundleState::placed || row->layout != store::BundleLayout::nested ||
      !row->path) {
    return false;
  }
  const fs::path dir = settings.dest / *row->path;
  std::error_code ec;
  if (fs::symlink_status(dir, ec).type() != fs::file_type::directory) return false;  // gone: fetched again

  const std::string archive = bundle::kept_archive_name(patch->bundle_file(), id);
  const std::string prefix = id + "/";
  std::vector<store::FileRow> files = catalog.files(id);
  std::vector<store::FileRow> contents;  // every file but the kept archive
  std::optional<store::FileRow> archive_row;
  for (const store::FileRow& file : files) {
    if (file.relpath == archive) {
      archive_row = file;
    } else {
      contents.push_back(file);
    }
  }
  bool under_top = !contents.empty() && std::all_of(contents.begin(), contents.end(), [&](const store::FileRow& f) {
    return f.relpath.rfind(prefix, 0) == 0;
  });
  std::vector<store::FileRow> flat = contents;
  for (store::FileRow& file : flat) file.relpath.erase(0, under_top ? prefix.size() : 0);

  // Which tree is on disk: the old one (every file at its recorded path) or the flat one (every file
  // one level up). Both at once cannot be: each flat path would need a file one level deeper, for ever.
  bool swapped_before = under_top && all_files_in(dir, flat) && !all_files_in(dir, contents);
  bool swap_now = under_top && !swapped_before && bundle::holds_nested_tree(dir, id, archive);
  if (!swapped_before && !swap_now) {
    // Not the old tree's shape (several entries at the top: already what the new layout places; or damaged
    // by hand, which verify reports): recorded as it is.
    catalog.mark_flat(id, files);
    return false;
  }
  if (swap_now) swap_in_flat_tree(settings, dir, id, archive);

  bool archive_clash =
      std::any_of(flat.begin(), flat.end(), [&](const store::FileRow& f) { return f.relpath == archive; });
  if (archive_row && !archive_clash && is_file(dir / archive)) flat.push_back(*archive_row);
  catalog.mark_flat(id, flat);
  spdlog::info("{}: converted {} to the flat layout (its files directly inside; nothing downloaded)", id, *row->path);
  return swap_now;
}

int convert_nested_bundles(const SyncSettings& settings, store::Catalog& catalog) {
  int swapped = 0;
  for (const auto& [id, row] : catalog.bundles()) {
    if (row.state != store::BundleState::placed || row.layout != store::BundleLayout::nested) continue;
    if (settings.network.stop_flag && settings.network.stop_flag->load()) break;
    if (convert_nested_bundle(settings, catalog, id)) ++swapped;
  }
  return swapped;
}

}  // namespace esxmirror
