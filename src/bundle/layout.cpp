#include "esxmirror/bundle/layout.hpp"

#include <system_error>

namespace esxmirror::bundle {

namespace fs = std::filesystem;

namespace {

bool is_real_directory(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() == fs::file_type::directory;
}

}  // namespace

BundleTree bundle_tree(const fs::path& unpack_dir, const std::string& bundle, std::vector<UnpackedFile> files) {
  std::error_code ec;
  std::size_t entries = 0;
  for (fs::directory_iterator it(unpack_dir, ec), end; !ec && it != end && entries < 2; it.increment(ec)) ++entries;
  const fs::path top = unpack_dir / bundle;
  if (ec || entries != 1 || bundle.empty() || !is_real_directory(top)) return {unpack_dir, std::move(files)};

  const std::string prefix = bundle + "/";
  for (UnpackedFile& file : files) {
    if (file.relpath.rfind(prefix, 0) == 0) file.relpath.erase(0, prefix.size());  // all are: it is the only entry
  }
  return {top, std::move(files)};
}

bool holds_nested_tree(const fs::path& dir, const std::string& bundle, const std::string& archive_name) {
  std::error_code ec;
  bool top_found = false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == bundle && is_real_directory(it->path())) {
      top_found = true;
    } else if (name != archive_name || fs::symlink_status(it->path(), ec).type() != fs::file_type::regular) {
      return false;
    }
  }
  return top_found && !ec;
}

}  // namespace esxmirror::bundle
