#include "esxmirror/core/run_lock.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"

namespace esxmirror {

util::FileLock lock_mirror(const SyncSettings& settings, const util::Clock& clock) {
  std::error_code ec;
  std::filesystem::create_directories(settings.state_dir(), ec);
  if (ec) {
    throw Error(ExitCode::storage, fmt::format("cannot create {}: {} (check --dest and its permissions)",
                                               settings.state_dir().string(), ec.message()));
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string me = fmt::format("pid {} on {} since {}", ::getpid(), host, util::iso8601(clock.now()));
  std::string holder;
  auto lock = util::FileLock::try_acquire(settings.lock_path(), me, holder);
  if (!lock) {
    throw Error(ExitCode::locked, fmt::format("another esxmirror run holds the lock on {} ({}); wait for it to finish",
                                              settings.dest.string(), holder));
  }
  return std::move(*lock);
}

}  // namespace esxmirror
