#pragma once
// Everything a sync needs to know, after the config file and the command line are merged.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "esxmirror/bundle/archive.hpp"
#include "esxmirror/net/transfer.hpp"
#include "esxmirror/source/legacy_html.hpp"

namespace esxmirror {

// Where a sync is, for a live progress line.
struct Progress {
  int patches_done = 0;
  int patches_total = 0;
  std::uint64_t bytes = 0;  // bundle bytes received so far
  double seconds = 0;       // since the transfers started
};

// What a --source is: told from its first document, or forced with --source-kind. `mirror`: another
// esxmirror's manifest.json (its legacy tree, mirrored file by file; README "Tiers of mirrors").
enum class SourceKind { detect, legacy_html, depot, mirror };
// "auto", "legacy-html", "depot", "mirror".
const char* to_string(SourceKind kind);
// What retention removes (`esxmirror prune`, README "Retention"). The defaults remove nothing.
struct RetentionSettings {
  // A legacy bundle superseded by newer placed bundles goes once they have been placed this many days;
  // nullopt: superseded bundles are kept for ever.
  std::optional<int> keep_superseded_days;
  bool prune_after_sync = false;  // a sync ends with a prune (after its last transfer, under its lock)
};

// What core tells the operator while a run goes on: a warning (also kept in the report's warnings) or
// one item's failure (its report entry holds the reason).
enum class Notice { warning, failure };

struct SyncSettings {
  std::vector<std::string> sources;             // --source URLs in the order given (secrets as written)
  SourceKind source_kind = SourceKind::detect;  // forced for every source; detect: from the document
  std::string source_url;                       // the source being read now (one of `sources`)
  std::vector<std::string> versions;            // ESX versions selected, in the order given
  std::vector<std::string> classifications;     // empty: all
  std::filesystem::path dest = "esx-mirror";
  std::filesystem::path state;  // empty: <dest>/.esxmirror/state.db
  int jobs = 4;                 // bundle transfers at once
  int page_jobs = 16;           // page requests at once (small, latency-bound)
  bool dry_run = false;
  // `esxmirror check` (with dry_run): a depot's metadata zips are asked for by HEAD, conditionally; one that
  // changed or was never read is reported with its size and not read.
  bool probe_metadata = false;
  bool keep_archives = false;
  // Detail pages of placed patches are revalidated (conditional GET) in rolling slices when the index
  // is unchanged: each run checks the least recently checked 1/window of them (at least
  // revalidate_min_pages), so every page is checked within `revalidate_window_runs` runs.
  int revalidate_window_runs = 7;
  int revalidate_min_pages = 15;           // with the index, one round of page_jobs (16) requests
  std::vector<std::string> allowed_hosts;  // empty: the source host and hosts its pages link bundles to
  // Consecutive failures before backoff starts, and the first delay (doubling, capped).
  int failures_before_backoff = 2;
  std::chrono::seconds failure_backoff{std::chrono::hours(23)};
  std::chrono::seconds failure_backoff_max{std::chrono::hours(24 * 7)};
  // Depot sources: the vendor-index products mirrored (productId), besides the versions selected.
  std::vector<std::string> depot_products = {"embeddedEsx"};
  // Config [depot_names]: the directory a depot is mirrored under, by its source URL as written or by the
  // name it would have (the last directory of its index URL), instead of that name.
  std::map<std::string, std::string> depot_names;
  // A VIB (or metadata zip) no published zip of a selected version references any more stays this long
  // after it was first found unreferenced, so a host in the middle of a remediation still finds it.
  std::chrono::seconds depot_keep_unreferenced{std::chrono::hours(24 * 7)};
  net::NetworkSettings network;
  net::RetryPolicy retry;
  bundle::UnpackLimits limits;
  source::RuleSpec rules = source::RuleSpec::vi3();
  RetentionSettings retention;
  // Called about twice a second from a helper thread while bundles transfer; empty: no progress.
  std::function<void(const Progress&)> on_progress;
  // How core's notices reach the operator (core/notices.hpp), from any of the run's threads; empty: the
  // warnings are only in the report.
  std::function<void(Notice, const std::string&)> on_notice;

  std::filesystem::path state_dir() const { return dest / ".esxmirror"; }
  std::filesystem::path state_path() const { return state.empty() ? state_dir() / "state.db" : state; }
  std::filesystem::path staging_dir() const { return state_dir() / "staging"; }
  std::filesystem::path lock_path() const { return state_dir() / "lock"; }
};

}  // namespace esxmirror
