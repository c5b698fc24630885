// Filesystem helpers: atomic file replacement, whole-file reads, directory fsync, lexical containment.
#include "esxmirror/util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "esxmirror/util/storage_error.hpp"
#include "esxmirror/util/unique_fd.hpp"

namespace esxmirror::util {
namespace fs = std::filesystem;

namespace {

using Fd = UniqueFd;

[[noreturn]] void throw_write_error(const fs::path& target, int err) {
  throw util::StorageError("cannot write " + target.string() + ": " + describe_errno(err));
}

fs::path parent_or_cwd(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

// Writes all of `content` to `fd`; returns 0 or the errno of the failed write.
int write_all(int fd, std::string_view content) {
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

// Creates a new, hidden temporary file for `target` in `dir` (".<name>.tmp-<random>"), mode 0666 minus
// the umask like any new file, so a served file stays readable by the web server.
int create_temp_beside(const fs::path& target, const fs::path& dir, fs::path& temp) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp = dir / temporary_name(target.filename().string());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

// fsync of a directory; returns 0 or the errno. EINVAL (the filesystem cannot sync directories) is not
// an error: there is nothing more to do there.
int sync_directory(const fs::path& dir) {
  const fs::path name = dir.empty() ? fs::path(".") : dir;
  Fd fd(::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno;
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return errno;
  return 0;
}

// Component-wise form of `p`: absolute, lexically normal, without a trailing empty element.
std::vector<fs::path> components(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  if (ec) absolute = p;
  std::vector<fs::path> parts;
  for (const auto& part : absolute.lexically_normal()) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace

void write_file_atomic(const fs::path& target, std::string_view content) {
  write_file_atomic(target, content, parent_or_cwd(target));
}

void write_file_atomic(const fs::path& target, std::string_view content, const fs::path& temp_dir) {
  fs::path temp;
  Fd fd(create_temp_beside(target, temp_dir, temp));
  if (fd.get() < 0) throw_write_error(target, errno);

  auto fail = [&](int err) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw_write_error(target, err);
  };

  // Keep the permissions an operator gave the existing file.
  struct stat existing {};
  if (::stat(target.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)) {
    if (::fchmod(fd.get(), existing.st_mode & 07777) != 0) fail(errno);
  }
  if (int err = write_all(fd.get(), content); err != 0) fail(err);
  if (::fsync(fd.get()) != 0) fail(errno);
  if (fd.close() != 0) fail(errno);
  if (::rename(temp.c_str(), target.c_str()) != 0) fail(errno);

  // The new content is in place; an error here only means its durability is not confirmed.
  if (int err = sync_directory(parent_or_cwd(target)); err != 0) throw_write_error(target, err);
}

std::string read_file(const fs::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(EISDIR));
  }
  std::string content;
  if (info.st_size > 0) content.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

void fsync_dir(const fs::path& dir) {
  if (int err = sync_directory(dir); err != 0) {
    throw util::StorageError("cannot sync directory " + dir.string() + ": " + describe_errno(err));
  }
}

void link_tree(const fs::path& from, const fs::path& to) {
  auto fail = [&](const fs::path& what, int err) {
    throw util::StorageError("cannot link " + what.string() + " into " + to.string() + ": " + describe_errno(err));
  };
  struct stat info {};
  if (::lstat(from.c_str(), &info) != 0) fail(from, errno);
  if (::mkdir(to.c_str(), 0700) != 0) fail(from, errno);  // owner-writable while it is filled
  std::error_code ec;
  for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path target = to / it->path().filename();
    if (it->symlink_status(ec).type() == fs::file_type::directory) {
      link_tree(it->path(), target);
    } else if (::linkat(AT_FDCWD, it->path().c_str(), AT_FDCWD, target.c_str(), 0) != 0) {  // 0: a symlink itself
      fail(it->path(), errno);
    }
  }
  if (ec) fail(from, ec.value());
  // Last, so adding the entries above does not change the times copied.
  const struct timespec times[2] = {info.st_atim, info.st_mtim};
  if (::chmod(to.c_str(), info.st_mode & 07777) != 0 || ::utimensat(AT_FDCWD, to.c_str(), times, 0) != 0) {
    fail(from, errno);
  }
}

bool is_within(const fs::path& root, const fs::path& path) {
  const auto root_parts = components(root);
  const auto path_parts = components(path);
  if (path_parts.size() < root_parts.size()) return false;
  for (std::size_t i = 0; i < root_parts.size(); ++i) {
    if (root_parts[i] != path_parts[i]) return false;
  }
  return true;
}

std::string random_suffix() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string suffix(12, '0');
  for (char& c : suffix) c = digits[generator() % 16];
  return suffix;
}

std::string temporary_name(const std::string& name) { return "." + name + ".tmp-" + random_suffix(); }

std::string aside_name(const std::string& name) { return "." + name + ".old-" + random_suffix(); }

bool is_temporary_name(const std::string& name) {
  return name.size() > 1 && name[0] == '.' &&
         (name.find(".tmp-") != std::string::npos || name.find(".old-") != std::string::npos);
}

std::string describe_errno(int err) {
  std::string text = std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) text += " (free space on that filesystem and run again)";
  return text;
}

void sync_filesystem(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 || ::syncfs(fd.get()) != 0) throw_write_error(path, errno);
}

}  // namespace esxmirror::util
