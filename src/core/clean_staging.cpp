#include "esxmirror/core/clean_staging.hpp"

#include <filesystem>

#include "esxmirror/util/fs.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

void clean_staging(const SyncSettings& settings) {
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(settings.staging_dir(), ignored)) {
    if (entry.path().filename() == "depot" || entry.path().filename() == "mirror") continue;
    if (entry.is_directory(ignored) || util::is_temporary_name(entry.path().filename().string())) {
      fs::remove_all(entry.path(), ignored);
    }
  }
  for (const auto& entry : fs::directory_iterator(settings.dest, ignored)) {
    const std::string name = entry.path().filename().string();
    if (util::is_temporary_name(name)) {
      fs::remove_all(entry.path(), ignored);
    } else if (name != ".esxmirror" && !entry.is_symlink(ignored) && entry.is_directory(ignored)) {
      for (const auto& inner : fs::directory_iterator(entry.path(), ignored)) {
        if (util::is_temporary_name(inner.path().filename().string())) fs::remove_all(inner.path(), ignored);
      }
    }
  }
}

}  // namespace esxmirror
