#include "esxmirror/publish/repository_index.hpp"

#include <system_error>

#include "esxmirror/util/fs.hpp"

namespace esxmirror::publish {

namespace {

// Rewrites `target` only when `content` differs from what it holds: an unchanged file keeps its mtime,
// so web servers keep its ETag and Last-Modified and revalidating clients get 304.
void write_if_changed(const std::filesystem::path& target, const std::string& content,
                      const std::filesystem::path& temp_dir) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(target, ec) && std::filesystem::file_size(target, ec) == content.size() && !ec) {
    try {
      if (util::read_file(target) == content) return;
    } catch (const std::exception&) {
      // Unreadable: written again below, where a real problem is reported.
    }
  }
  if (temp_dir.empty()) {
    util::write_file_atomic(target, content);
  } else {
    util::write_file_atomic(target, content, temp_dir);
  }
}

}  // namespace

void write_repository_index(const std::filesystem::path& dest, const RepositoryContent& content,
                            const std::filesystem::path& temp_dir) {
  if (!temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(temp_dir, ec);  // a failure shows as the write's own error
  }
  write_if_changed(dest / "manifest.json", render_manifest(content), temp_dir);
  write_if_changed(dest / "index.html", render_index_html(content), temp_dir);
}

}  // namespace esxmirror::publish
