#pragma once
// Filesystem helpers that keep the mirror consistent: atomic writes and renames.
#include <filesystem>
#include <string>
#include <string_view>

#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::util {

// Writes `content` to a temporary file beside `target`, fsyncs it, then renames it over `target`.
// Readers see the old file or the new one, never a mix. Throws util::StorageError on failure.
void write_file_atomic(const std::filesystem::path& target, std::string_view content);
// The same with the temporary file in `temp_dir` (on the same filesystem as `target`), so that a crash
// between writing and renaming leaves nothing half-written beside `target`, where it would be served.
void write_file_atomic(const std::filesystem::path& target, std::string_view content,
                       const std::filesystem::path& temp_dir);

// Reads a whole file; throws std::runtime_error naming the file.
std::string read_file(const std::filesystem::path& file);

// 12 random hex digits, for temporary names beside a final one.
std::string random_suffix();

// fsync a directory so a rename inside it is durable.
void fsync_dir(const std::filesystem::path& dir);

// Recreates the tree `from` as the new directory `to` (same filesystem) without copying data: every
// file and symlink is a hard link to the one in `from`; directories are new, with from's permissions and
// modification times. Throws util::StorageError naming the path that failed.
void link_tree(const std::filesystem::path& from, const std::filesystem::path& to);

// The hidden temporary name for something that will be renamed to `name`: ".<name>.tmp-<random>".
// Every temporary file or link esxmirror makes has this form, so the next run knows its debris.
std::string temporary_name(const std::string& name);
// The hidden name a replaced entry is set aside under until it is deleted: ".<name>.old-<random>".
std::string aside_name(const std::string& name);
// True for a name temporary_name or aside_name made: debris of a killed run, never published content.
bool is_temporary_name(const std::string& name);

// strerror(err), with what an operator can do where there is something (a full disk: free space).
std::string describe_errno(int err);

// syncfs(2) on the filesystem holding `path`: everything written or renamed on it so far is durable.
// One call instead of an fsync per file and directory. Throws util::StorageError naming the path.
void sync_filesystem(const std::filesystem::path& path);

// True when `path`, after lexical normalisation, stays inside `root`.
bool is_within(const std::filesystem::path& root, const std::filesystem::path& path);

}  // namespace esxmirror::util
