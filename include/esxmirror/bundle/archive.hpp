#pragma once
// Safe unpacking of bundle archives (tar, tar.gz, zip) with libarchive.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace esxmirror::bundle {

struct UnpackLimits {
  std::uint64_t max_total_bytes = 16ull << 30;  // bytes actually written, all entries together
  std::uint64_t max_entries = 100000;
  double max_ratio = 200.0;                    // unpacked bytes / archive bytes
};

struct UnpackResult {
  std::uint64_t entries = 0;
  std::uint64_t bytes_written = 0;
  std::vector<std::string> notes;              // e.g. "stripped setuid bit from ESX-1/bin/x"
};

// Unpacks `archive_file` into `target_dir` (created; must not already exist). Refuses, naming the entry:
// absolute paths, `..` components, symlinks or hardlinks that lead outside target_dir, writing through a
// symlink, device/fifo/socket entries, and anything past `limits` (counted on bytes written). setuid,
// setgid and sticky bits are stripped. Throws esxmirror::PatchError on refusal or on a damaged archive;
// the caller removes target_dir then. Never writes outside target_dir.
UnpackResult unpack_archive(const std::filesystem::path& archive_file,
                            const std::filesystem::path& target_dir, const UnpackLimits& limits);

}  // namespace esxmirror::bundle
