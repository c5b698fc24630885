#pragma once
// The one way core tells the operator something while a run goes on (a re-fetch, a deferred bundle, an
// archive's oddity, a patch that failed), like curl's warnf: core says it here, the report keeps it and
// the CLI decides how it is printed (SyncSettings::on_notice, cli/output). Logging (-v, -vv) is separate:
// what was placed and how long each pass took.
#include <string>

#include "esxmirror/core/report.hpp"
#include "esxmirror/core/settings.hpp"

namespace esxmirror {

// Keeps `text` in report.warnings and tells it. Call it on the thread that owns `report` (the placement
// thread while bundles are placed).
void warn(const SyncSettings& settings, RunReport& report, std::string text);

// Tells a warning of work outside a run's report (prune's cleanup, a layout conversion).
void warn(const SyncSettings& settings, const std::string& text);

// Tells one item's failure; the caller has put the reason in the item's report entry.
void tell_failure(const SyncSettings& settings, const std::string& text);

}  // namespace esxmirror
