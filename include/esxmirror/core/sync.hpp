#pragma once
// `esxmirror sync`: the whole pipeline of DESIGN §1.
#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// Runs one sync and returns what it did; report.exit_code is the process's exit code. Throws Error for
// what happens before the run is recorded (bad rules: usage; lock held: locked; state unusable: storage).
RunReport sync(const SyncSettings& settings, const util::Clock& clock = util::system_clock());

}  // namespace esxmirror
