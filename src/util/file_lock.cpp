#include "esxmirror/util/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "esxmirror/util/storage_error.hpp"

namespace esxmirror::util {

std::optional<FileLock> FileLock::try_acquire(const std::filesystem::path& file, const std::string& holder,
                                              std::string& current_holder) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    throw util::StorageError(fmt::format("cannot open lock file {}: {}", file.string(), std::strerror(errno)));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char buffer[512] = {};
    ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
    current_holder = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "unknown";
    while (!current_holder.empty() && (current_holder.back() == '\n' || current_holder.back() == '\0')) {
      current_holder.pop_back();
    }
    return std::nullopt;
  }
  // Holder details are for the operator reading the file or the message of a second run.
  if (::ftruncate(fd.get(), 0) == 0) {
    std::string text = holder + "\n";
    [[maybe_unused]] ssize_t written = ::pwrite(fd.get(), text.data(), text.size(), 0);
  }
  return FileLock(std::move(fd));
}

}  // namespace esxmirror::util
