#pragma once
// An exclusive flock(2) on a file, held for the object's life. The kernel drops it when the process
// dies, so a lock left by a killed run never blocks the next one.
#include <filesystem>
#include <optional>
#include <string>

#include "esxmirror/util/storage_error.hpp"
#include "esxmirror/util/unique_fd.hpp"

namespace esxmirror::util {

class FileLock {
 public:
  // Takes the lock without waiting and writes `holder` (pid, host, start time) into the file.
  // Returns nullopt when another process holds it; `current_holder` then says who (the file's text).
  // Throws util::StorageError when the file cannot be created.
  static std::optional<FileLock> try_acquire(const std::filesystem::path& file, const std::string& holder,
                                             std::string& current_holder);
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it drops the flock
};

}  // namespace esxmirror::util
