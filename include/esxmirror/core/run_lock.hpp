#pragma once
// The mirror's lock: one writer at a time per destination.
#include <optional>

#include "esxmirror/core/settings.hpp"
#include "esxmirror/util/clock.hpp"
#include "esxmirror/util/file_lock.hpp"

namespace esxmirror {

// Creates <dest>/.esxmirror/ (staging/ is made inside the run, by the steps that use it) and takes its
// lock, or throws Error(locked) naming the holder (pid, host, start time). Throws Error(storage) when the
// directory cannot be created.
util::FileLock lock_mirror(const SyncSettings& settings, const util::Clock& clock);

}  // namespace esxmirror
