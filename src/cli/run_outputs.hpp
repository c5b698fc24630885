#pragma once
// Files a sync leaves for machines: the JSON run report and the Prometheus textfile.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "esxmirror/core/report.hpp"
#include "esxmirror/store/catalog.hpp"

namespace esxmirror::cli {

// The run report as JSON: run id, start/end, exit code, per patch outcome/reason/bytes/duration, and
// what is new ("new").
std::string render_run_report(const RunReport& report);

// What is new as a JSON array: id, source, classification, category, release_date, summary, versions,
// replaced, placed_at (ISO 8601). The run report's "new" and `status --new --json` alike.
nlohmann::json new_items_json(const std::vector<NewItem>& items);

// Prometheus text format for node_exporter's textfile collector. `last_success` is the unix time of
// the newest run that exited 0 (0 when none); `by_state` counts bundles per state.
std::string render_metrics(const RunReport& report, std::int64_t finished_at, std::int64_t last_success,
                           const std::map<std::string, int>& by_state);

}  // namespace esxmirror::cli
