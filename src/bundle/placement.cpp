// Naming and atomic placement of bundles in the mirror (DESIGN §5).
//
// A bundle becomes visible under its final name in one rename: readers see no bundle, the old bundle or
// the new one, never a mix. Replacing something that already exists uses renameat2(RENAME_EXCHANGE),
// which swaps the two names atomically (it works whether the old entry is a directory, a symlink or a
// file); the old entry, now under the staging name, is removed afterwards.
#include "esxmirror/bundle/placement.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include "esxmirror/util/fs.hpp"
#include "esxmirror/util/storage_error.hpp"
#include "esxmirror/util/unique_fd.hpp"

namespace esxmirror::bundle {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_place_error(const fs::path& what, int err) {
  throw util::StorageError("cannot place " + what.string() + ": " + util::describe_errno(err));
}

[[noreturn]] void throw_place_error(const fs::path& what, const std::error_code& ec) {
  throw_place_error(what, ec.value());
}

fs::path absolute_normal(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  if (ec) throw_place_error(p, ec);
  return absolute.lexically_normal();
}

// symlink_status without throwing; `not_found` when nothing is there.
fs::file_status entry_status(const fs::path& p) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(p, ec);
  if (ec && status.type() != fs::file_type::not_found) throw_place_error(p, ec);
  return status;
}

void create_parent(const fs::path& p) {
  const fs::path parent = p.parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw_place_error(p, ec);
}

int rename_flags(const fs::path& from, const fs::path& to, unsigned flags) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0) return 0;
  return errno;
}

// Flushes every file and directory of `dir` to disk, so that after a crash the bundle under its final
// name is complete, not a tree of empty files.
void sync_tree(const fs::path& dir, const fs::path& final_dir) {
  std::error_code ec;
  auto sync_one = [&](const fs::path& p, int flags) {
    const util::UniqueFd fd(::open(p.c_str(), flags | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) throw_place_error(final_dir, errno);
    if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_place_error(final_dir, errno);
  };
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_type type = it->symlink_status(ec).type();
    if (ec) break;
    if (type == fs::file_type::regular) sync_one(it->path(), O_RDONLY);
    if (type == fs::file_type::directory) sync_one(it->path(), O_RDONLY | O_DIRECTORY);
  }
  if (ec) throw_place_error(final_dir, ec);
  sync_one(dir, O_RDONLY | O_DIRECTORY);
}

// Removes what an exchange left under the temporary name. The new entry is already in place, so a
// failure here is logged, not thrown: the mirror is correct, only some space is not yet reclaimed.
void remove_replaced(const fs::path& old_copy) {
  std::error_code ec;
  fs::remove_all(old_copy, ec);
  if (ec) spdlog::warn("could not remove the replaced copy {}: {}", old_copy.string(), ec.message());
}

// Moves `from` to `to`, exchanging atomically when `to` exists. Returns true when something existed at
// `to`; that old entry is removed. Filesystems without renameat2 flags fall back to two plain renames,
// which leave a short window without `to`.
bool move_into_place(const fs::path& from, const fs::path& to) {
  int err = rename_flags(from, to, RENAME_NOREPLACE);
  if (err == 0) return false;
  if (err == EINVAL || err == ENOSYS) {  // no renameat2 flags on this filesystem
    if (entry_status(to).type() == fs::file_type::not_found) {
      if (::rename(from.c_str(), to.c_str()) != 0) throw_place_error(to, errno);
      return false;
    }
  } else if (err != EEXIST) {
    throw_place_error(to, err);
  }

  err = rename_flags(from, to, RENAME_EXCHANGE);
  if (err == 0) {
    remove_replaced(from);  // `from` now names the old entry
    return true;
  }
  if (err != EINVAL && err != ENOSYS) throw_place_error(to, err);

  const fs::path aside = to.parent_path() / util::aside_name(to.filename().string());
  if (::rename(to.c_str(), aside.c_str()) != 0) throw_place_error(to, errno);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int rename_err = errno;
    ::rename(aside.c_str(), to.c_str());  // put the old copy back
    throw_place_error(to, rename_err);
  }
  remove_replaced(aside);
  return true;
}

void sync_parent(const fs::path& p, const fs::path& reported) {
  try {
    util::fsync_dir(p.has_parent_path() ? p.parent_path() : fs::path("."));
  } catch (const util::StorageError& e) {
    throw util::StorageError("cannot place " + reported.string() + ": " + e.what());
  }
}

}  // namespace

bool is_safe_component(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '/' || c == '\\' || u < 0x20 || u == 0x7f;
  });
}

std::string kept_archive_name(const std::string& filename, const std::string& bundle) {
  return is_safe_component(filename) ? filename : bundle + ".tgz";
}

std::string bundle_dir_name(const std::optional<std::string>& iso_date, const std::string& bundle) {
  return (iso_date ? *iso_date : std::string("undated")) + "_" + bundle;
}

bool place_directory(const fs::path& staging_dir, const fs::path& final_dir) {
  if (entry_status(staging_dir).type() != fs::file_type::directory) throw_place_error(final_dir, ENOTDIR);
  create_parent(final_dir);
  sync_tree(staging_dir, final_dir);
  const bool replaced = move_into_place(staging_dir, final_dir);
  sync_parent(final_dir, final_dir);
  if (staging_dir.parent_path() != final_dir.parent_path()) sync_parent(staging_dir, final_dir);
  return replaced;
}

void place_link(const fs::path& target, const fs::path& link, const fs::path& temp_dir) {
  const fs::path target_abs = absolute_normal(target);
  const fs::path link_abs = absolute_normal(link);
  // Replacing `link` removes what was there; it must not be (or hold) the target itself.
  if (util::is_within(link_abs, target_abs)) {
    throw util::StorageError("cannot place " + link.string() + ": the link would replace its own target " +
                             target.string());
  }
  const fs::path relative = target_abs.lexically_relative(link_abs.parent_path());
  if (relative.empty()) throw_place_error(link, EXDEV);

  create_parent(link_abs);
  const std::string temp_name = util::temporary_name(link_abs.filename().string());
  fs::path temp = link_abs.parent_path() / temp_name;
  if (!temp_dir.empty()) {
    std::error_code ignored;
    fs::create_directories(temp_dir, ignored);
    temp = temp_dir / temp_name;
  }
  if (::symlink(relative.c_str(), temp.c_str()) != 0) throw_place_error(link, errno);

  // A plain rename replaces an old link or file atomically; an old full copy (a directory, from before
  // the bundle was shared between versions) is exchanged atomically and then removed.
  int renamed = ::rename(temp.c_str(), link_abs.c_str());
  if (renamed != 0 && errno == EXDEV) {  // temp_dir on another filesystem after all: make it beside
    ::unlink(temp.c_str());
    temp = link_abs.parent_path() / temp_name;
    if (::symlink(relative.c_str(), temp.c_str()) != 0) throw_place_error(link, errno);
    renamed = ::rename(temp.c_str(), link_abs.c_str());
  }
  if (renamed != 0) {
    const int err = errno;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      try {
        move_into_place(temp, link_abs);
      } catch (...) {
        ::unlink(temp.c_str());
        throw;
      }
    } else {
      ::unlink(temp.c_str());
      throw_place_error(link, err);
    }
  }
  sync_parent(link_abs, link);
}

void place_file(const fs::path& from, const fs::path& to) {
  create_parent(to);
  if (::rename(from.c_str(), to.c_str()) != 0) throw_place_error(to, errno);
}

}  // namespace esxmirror::bundle
