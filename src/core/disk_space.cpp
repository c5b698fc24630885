#include "esxmirror/core/disk_space.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"

namespace esxmirror {

void fail_if_disk_full(const SyncSettings& settings, const std::string& id) {
  std::error_code ec;
  const std::filesystem::space_info space = std::filesystem::space(settings.staging_dir(), ec);
  if (ec || space.available >= (256u << 10)) return;
  throw Error(ExitCode::storage, fmt::format("no space left on device under {} while mirroring {}: free some space "
                                             "and run again (nothing half-written was placed)",
                                             settings.dest.string(), id));
}

}  // namespace esxmirror
