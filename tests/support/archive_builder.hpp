#pragma once
// Builds real archives in memory (libarchive write side): normal bundles and hostile ones for tests.
#include <cstddef>
#include <string>
#include <vector>

namespace esxmirror::testing {

struct ArchiveEntry {
  enum class Type { file, directory, symlink, hardlink, char_device, fifo };
  std::string path;         // as stored in the archive, verbatim (may be "../x" or "/etc/x" on purpose)
  Type type = Type::file;
  std::string content;      // files
  std::string link_target;  // symlink / hardlink target, verbatim
  int mode = 0644;          // permission bits incl. setuid (04000) etc.
};

enum class ArchiveFormat { tar_gz, tar, zip };

// The archive's bytes.
std::string build_archive(const std::vector<ArchiveEntry>& entries, ArchiveFormat format = ArchiveFormat::tar_gz);

// A realistic bundle: "<bundle>/" holding a few RPMs (pseudo-random, incompressible bytes, about
// `approx_bytes` in total), contents.xml and descriptor.xml. Same inputs, same bytes.
std::vector<ArchiveEntry> bundle_entries(const std::string& bundle, std::size_t approx_bytes, unsigned seed);

}  // namespace esxmirror::testing
