#pragma once
// Safe unpacking of bundle archives (tar, tar.gz, zip) with libarchive.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "esxmirror/bundle/archive_error.hpp"
#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::bundle {

struct UnpackLimits {
  std::uint64_t max_total_bytes = 16ull << 30;  // bytes actually written, all entries together
  std::uint64_t max_entries = 100000;
  double max_ratio = 200.0;  // unpacked bytes / archive bytes
};

struct UnpackedFile {
  std::string relpath;  // relative to the target directory, '/'-separated
  std::uint64_t size = 0;
  std::string sha256;  // of the bytes written, hashed on the way (no second read)
};

struct UnpackResult {
  std::uint64_t entries = 0;
  std::uint64_t bytes_written = 0;
  std::vector<std::string> notes;   // e.g. "stripped setuid bit from ESX-1/bin/x"
  std::vector<UnpackedFile> files;  // regular files (and hardlinks), in archive order
};

// Where streamed archive bytes come from: fills `buffer` with up to `size` bytes and returns how many;
// 0 means the end of the archive. May block until bytes arrive; throws to abandon the unpack.
using ArchiveSource = std::function<std::size_t(void* buffer, std::size_t size)>;

// Unpacks `archive_file` into `target_dir` (created; must not already exist). Refuses, naming the entry:
// absolute paths, `..` components, symlinks or hardlinks that lead outside target_dir, writing through a
// symlink, device/fifo/socket entries, and anything past `limits` (counted on bytes written). setuid,
// setgid and sticky bits are stripped. Throws ArchiveError on refusal or on a damaged archive, and
// util::StorageError when the local disk fails;
// the caller removes target_dir then. Never writes outside target_dir.
UnpackResult unpack_archive(const std::filesystem::path& archive_file, const std::filesystem::path& target_dir,
                            const UnpackLimits& limits);

// The same, reading the archive from `source` as it arrives (unpacking while it downloads). `name`
// names the archive in messages. The ratio limit is checked against the bytes read so far plus
// `expected_size` when known (0: unknown).
UnpackResult unpack_stream(const ArchiveSource& source, const std::string& name, std::uint64_t expected_size,
                           const std::filesystem::path& target_dir, const UnpackLimits& limits);

}  // namespace esxmirror::bundle
