#pragma once
// How a run ends, decided in one place for sync and repair: its exit code and outcome from what the
// run reported, and its row in the runs table.
#include <cstdint>
#include <string>

#include "esxmirror/core/report.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror {

// A run-level failure (storage, interrupted) first; then a source that could not be read at all (4);
// then anything incomplete: a source, a failed or a deferred patch (1); else 0.
ExitCode run_exit_code(const RunReport& report);

// "ok", "partial", "interrupted" or "failed", as the report and the runs table say it.
const char* run_outcome(ExitCode code);

// Sets the report's exit code, outcome and finish time, then finishes the run's row (`kind` prefixes its
// outcome: "" for sync, "repair:" for a repair). A run that could not be recorded ends with exit 5 and
// says why, unless it had failed already for another reason.
void record_run(store::Catalog& catalog, RunReport& report, std::int64_t started_at, std::int64_t now,
                const std::string& kind);

}  // namespace esxmirror
