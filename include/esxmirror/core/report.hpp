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
  placed,    // downloaded, verified, unpacked and placed this run
  replaced,  // the page's md5 changed: fetched again and swapped in
  linked,    // already placed; linked under a newly selected version
  skipped,   // already placed and unchanged
  failed,    // failed this run (reason given)
  deferred,  // failed earlier and not due yet (backoff)
  planned    // --dry-run: would be fetched
};
const char* to_string(PatchOutcome outcome);

// Every member has a default, so a report is written with designated initializers naming what it sets.
struct PatchReport {
  std::string id = {};
  std::vector<std::string> versions = {};
  PatchOutcome outcome = PatchOutcome::skipped;
  std::string reason = {};  // failures and deferrals: why; others: empty
  std::string path = {};    // relative to dest, when placed
  std::uint64_t bytes = 0;  // downloaded this run
  double seconds = 0;       // download + unpack + place
  std::string url = {};     // masked
  // --dry-run (outcome planned): what would be done ("fetch", "replace", "link"), the release date and the
  // bundle's size when known (from an earlier download).
  std::string action = {};
  std::optional<std::string> release_date = std::nullopt;
  std::optional<std::uint64_t> size = std::nullopt;
  std::string source = {};  // depot bulletins: the depot's name; legacy bundles: empty
};

// A VIB that could not be mirrored this run.
struct VibFailure {
  std::string id = {};      // VIB id
  std::string path = {};    // relpath in the depot
  std::string reason = {};  // "VIB <id> (<file>): <why>"
};

// A metadata zip a depot source selected, as the run found it.
struct MetadataReport {
  std::string path = {};     // relative to the depot root
  std::string version = {};  // its vendor-index entry's version ("8.0.3")
  std::string product = {};  // and product ("embeddedEsx")
  // "unchanged" (304, or a check's HEAD gave the validators recorded), "read" (fetched and read), "changed"
  // or "new" (a check's HEAD only: not read, nothing of it counted), "failed" (named in failed_documents).
  std::string state = {};
  std::optional<std::uint64_t> size = std::nullopt;  // bytes, when known
};

// What one --source did.
struct SourceReport {
  std::string url = {};               // masked
  std::string kind = {};              // "legacy-html", "depot" or "mirror"
  std::string name = {};              // depot: the directory under dest
  ExitCode exit_code = ExitCode::ok;  // ok, partial, source (unreadable), ...
  std::string message = {};           // why it failed, when it did
  int pages_failed = 0;               // legacy: detail pages that could not be read
  std::uint64_t requests = 0;
  std::uint64_t documents_fetched = 0;  // depot documents (a mirror: its manifest) answered with a body
  std::uint64_t documents_not_modified = 0;
  std::uint64_t bytes = 0;  // VIB bytes (a mirror: its bundles' files) downloaded
  int vibs_placed = 0;      // downloaded, verified and placed this run
  int vibs_present = 0;     // already in place
  int vibs_deferred = 0;    // failed before, waiting out their backoff
  int vibs_to_fetch = 0;    // what the plan fetches (what a dry run would fetch)
  std::uint64_t bytes_to_fetch = 0;
  std::vector<std::string> published = {};         // depot documents written this run (relpaths)
  std::vector<std::string> failed_documents = {};  // one line each: vendor index, metadata zip, conflicts
  std::vector<VibFailure> failed_vibs = {};
  std::vector<MetadataReport> metadata = {};  // depot: the selected metadata zips, in vendor-index order
  std::vector<std::string> removed = {};      // VIBs and zips removed this run: unreferenced past the grace period
  std::uint64_t bytes_removed = 0;
  std::uint64_t bytes_unreferenced = 0;  // still kept: unreferenced, inside the grace period
};

// A bundle or bulletin a run made available to hosts (the nightly mail's list, `status --new`).
struct NewItem {
  std::string id = {};
  std::string source = {};          // depot: its name; legacy bundles: empty
  std::string classification = {};  // legacy: the page's classification; depot: the severity
  std::string category = {};        // depot: security, bugfix, enhancement...; legacy: empty
  std::optional<std::string> release_date = std::nullopt;
  std::string summary = {};                // depot: the bulletin's summary; legacy: what it supersedes
  std::vector<std::string> versions = {};  // legacy: where it is placed; depot: its platforms' versions
  bool replaced = false;                   // legacy: placed before, fetched again (its md5 changed)
  std::int64_t placed_at = 0;              // unix seconds
};

struct RunReport {
  std::int64_t run_id = 0;
  std::string started_at, finished_at;  // ISO 8601 UTC
  double seconds = 0;
  ExitCode exit_code = ExitCode::ok;
  std::string outcome;  // ok, partial, failed, interrupted
  std::string message;  // run-level error, if any
  std::vector<PatchReport> patches;
  std::vector<SourceReport> sources;     // one per --source, in order
  std::vector<std::string> warnings;     // undated patches, pages without md5...
  std::uint64_t bytes_downloaded = 0;    // bundle bytes
  std::uint64_t requests = 0;            // HTTP requests, pages and bundles
  std::uint64_t pages_fetched = 0;       // pages answered with a body
  std::uint64_t pages_not_modified = 0;  // pages answered 304
  int converted = 0;                     // bundle directories converted to the flat layout (schema 2)
  std::optional<PruneReport> pruned;     // prune_after_sync: what the prune at the end removed
  bool dry_run = false;
  std::vector<NewItem> new_items;  // what this run placed or replaced, most urgent first

  int count(PatchOutcome which) const;
};

}  // namespace esxmirror
