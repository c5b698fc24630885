#pragma once
// The run's first pass: what earlier runs left when they were killed goes.
#include "esxmirror/core/settings.hpp"

namespace esxmirror {

// Removes, in staging, half-unpacked trees, swapped-out old copies and temporary files; beside final names
// (dest and its version directories), temporary links and set-aside copies. Partial downloads stay: they
// are resumed (a depot's VIBs under staging/depot/, an upstream mirror's files under staging/mirror/).
// Errors are ignored: what cannot be removed now is tried again by the next run.
void clean_staging(const SyncSettings& settings);

}  // namespace esxmirror
