#pragma once
// A failure while a bundle is downloaded, unpacked or placed may be the disk's fault, not the bundle's:
// then the run stops (exit 5) instead of marking the patch failed and going on to fill the disk more.
#include <string>

#include "esxmirror/core/settings.hpp"

namespace esxmirror {

// Throws Error(storage) naming <dest> and patch `id` when the staging filesystem has less than 256 KiB
// left; returns otherwise (the failure is the patch's own).
void fail_if_disk_full(const SyncSettings& settings, const std::string& id);

}  // namespace esxmirror
