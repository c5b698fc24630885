#pragma once
// Naming and atomic placement of bundles in the mirror (DESIGN §5).
#include <filesystem>
#include <optional>
#include <string>

#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::bundle {

// True when `name` is safe as one path component: non-empty, no '/', '\\' or NUL, not "." / "..",
// not starting with '.'.
bool is_safe_component(const std::string& name);

// The name a kept archive (--keep-archives) has inside its bundle directory: the page's file name
// ("ESX-1000039.tgz"), or "<bundle>.tgz" when that is not a safe name.
std::string kept_archive_name(const std::string& filename, const std::string& bundle);

// "2007-03-29_ESX-1000039", or "undated_ESX-1000039" without a date.
std::string bundle_dir_name(const std::optional<std::string>& iso_date, const std::string& bundle);

// Moves the complete `staging_dir` to `final_dir` atomically. When final_dir already exists (a changed
// bundle) the two are exchanged with renameat2(RENAME_EXCHANGE) and the old copy removed, so readers
// always see a whole bundle. Creates final_dir's parent. Returns true when an old copy was replaced.
// Throws util::StorageError on failure.
bool place_directory(const std::filesystem::path& staging_dir, const std::filesystem::path& final_dir);

// Renames the complete file `from` to `to` (on the same filesystem) in one step, replacing what is there,
// creating to's parent. Readers see the old file or the new one. Throws util::StorageError.
void place_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Makes `link` a relative symlink to `target` (both inside the mirror), replacing an existing link
// atomically. The link is made under a temporary name in `temp_dir` when given (created if missing; on the
// mirror's filesystem, e.g. the staging directory) and renamed to `link`, so a crash leaves no temporary
// name beside the final one; else beside `link`. Throws util::StorageError on failure.
void place_link(const std::filesystem::path& target, const std::filesystem::path& link,
                const std::filesystem::path& temp_dir = {});

}  // namespace esxmirror::bundle
