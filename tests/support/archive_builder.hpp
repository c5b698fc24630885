#pragma once
// Builds real archives in memory (libarchive write side): normal bundles and hostile ones for tests.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace esxmirror::testing {

struct ArchiveEntry {
  enum class Type { file, directory, symlink, hardlink, char_device, fifo };
  std::string path;  // as stored in the archive, verbatim (may be "../x" or "/etc/x" on purpose)
  Type type = Type::file;
  std::string content;      // files
  std::string link_target;  // symlink / hardlink target, verbatim
  int mode = 0644;          // permission bits incl. setuid (04000) etc.
};

enum class ArchiveFormat { tar_gz, tar, zip };

// The archive's bytes. `gzip_level` (tar_gz only, 0-9): 0 stores deflate blocks uncompressed, which is
// what big incompressible payloads (bundle_entries) want: it is ~20x faster and no bigger. Throws
// std::runtime_error naming the entry libarchive refused (e.g. a device in a zip).
std::string build_archive(const std::vector<ArchiveEntry>& entries, ArchiveFormat format = ArchiveFormat::tar_gz,
                          int gzip_level = 6);

// An ar archive (SVR4/GNU, as VIBs are made) of regular files; throws as build_archive does.
std::string build_ar_archive(const std::vector<ArchiveEntry>& entries);

// `size` pseudo-random, incompressible bytes; the same `seed` gives the same bytes.
std::string pseudo_random_bytes(std::size_t size, std::uint64_t seed);

// A realistic bundle: "<bundle>/" holding a few RPMs (pseudo-random, incompressible bytes, about
// `approx_bytes` in total), contents.xml and descriptor.xml. Same inputs, same bytes.
std::vector<ArchiveEntry> bundle_entries(const std::string& bundle, std::size_t approx_bytes, unsigned seed);

}  // namespace esxmirror::testing
