#pragma once
// What a run did, patch by patch: the source of the summary, the JSON report and the metrics.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/core/error.hpp"
#include "esxmirror/core/prune_report.hpp"

namespace esxmirror {

enum class PatchOutcome {
  placed,     // downloaded, verified, unpacked and placed this run
  replaced,   // the page's md5 changed: fetched again and swapped in
  linked,     // already placed; linked under a newly selected version
  skipped,    // already placed and unchanged
  failed,     // failed this run (reason given)
  deferred,   // failed earlier and not due yet (backoff)
  planned     // --dry-run: would be fetched
};
const char* to_string(PatchOutcome outcome);

// Every member has a default, so a report is written with designated initializers naming what it sets.
struct PatchReport {
  std::string id = {};
  std::vector<std::string> versions = {};
  PatchOutcome outcome = PatchOutcome::skipped;
  std::string reason = {};       // failures and deferrals: why; others: empty
  std::string path = {};         // relative to dest, when placed
  std::uint64_t bytes = 0;       // downloaded this run
  double seconds = 0;            // download + unpack + place
  std::string url = {};          // masked
  // --dry-run (outcome planned): what would be done ("fetch", "replace", "link"), the release date and the
  // bundle's size when known (from an earlier download).
  std::string action = {};
  std::optional<std::string> release_date = std::nullopt;
  std::optional<std::uint64_t> size = std::nullopt;
};

struct RunReport {
  std::int64_t run_id = 0;
  std::string started_at, finished_at;    // ISO 8601 UTC
  double seconds = 0;
  ExitCode exit_code = ExitCode::ok;
  std::string outcome;                    // ok, partial, failed, interrupted
  std::string message;                    // run-level error, if any
  std::vector<PatchReport> patches;
  std::vector<std::string> warnings;      // undated patches, pages without md5...
  std::uint64_t bytes_downloaded = 0;     // bundle bytes
  std::uint64_t requests = 0;             // HTTP requests, pages and bundles
  std::uint64_t pages_fetched = 0;        // pages answered with a body
  std::uint64_t pages_not_modified = 0;   // pages answered 304
  int converted = 0;                      // bundle directories converted to the flat layout (schema 2)
  std::optional<PruneReport> pruned;      // prune_after_sync: what the prune at the end removed
  bool dry_run = false;

  int count(PatchOutcome which) const;
};

}  // namespace esxmirror
