#pragma once
// The shape of a bundle directory (DESIGN §5): the archive's top directory ESX-1000039/ renamed
// 2007-03-29_ESX-1000039/, with contents.xml, descriptor.xml and the RPMs directly inside.
#include <filesystem>
#include <string>
#include <vector>

#include "esxmirror/bundle/archive.hpp"

namespace esxmirror::bundle {

struct BundleTree {
  std::filesystem::path dir;        // the directory to place under <date>_<bundle>
  std::vector<UnpackedFile> files;  // relative to dir
};

// The bundle directory of an archive unpacked into `unpack_dir`: its single top directory when that is
// a directory named `bundle`; otherwise (several top-level entries, or one named otherwise) the unpack
// directory itself, with every entry directly inside. `files` (relative to unpack_dir) are made relative
// to the directory chosen.
BundleTree bundle_tree(const std::filesystem::path& unpack_dir, const std::string& bundle,
                       std::vector<UnpackedFile> files);

// True when `dir` holds a directory named `bundle` and nothing else but, optionally, the kept archive
// `archive_name`: how releases before schema 2 placed a bundle (<date>_<bundle>/<bundle>/...).
bool holds_nested_tree(const std::filesystem::path& dir, const std::string& bundle, const std::string& archive_name);

}  // namespace esxmirror::bundle
