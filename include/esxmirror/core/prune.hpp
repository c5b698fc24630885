#pragma once
// `esxmirror prune`: removes what retention no longer keeps (README "Retention").
//
// Each kind of content the mirror holds is a ContentKind: how much it holds per source and version, what
// can go now (a list of removal candidates with their bytes), and how one candidate goes. Legacy bundles
// superseded by newer ones are the first kind (prune_legacy.cpp), depot VIBs and zips no published
// metadata names the second (prune_depot.cpp).
//
// One run: finish what a killed run had decided, decide what goes now (recorded in the catalog first, in
// one transaction per kind), publish index.html and manifest.json without it, then remove each candidate
// whole (its directory renamed into staging, then its links, then its catalog rows).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "esxmirror/core/prune_report.hpp"
#include "esxmirror/core/settings.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

// How much the mirror holds of one source under one version.
struct UsageRow {
  std::string source;              // "legacy", or a depot's name
  std::string version;             // "all" for a depot: its VIBs are shared between versions
  int items = 0;                   // bundles placed under the version (a link counts), or a depot's VIBs
  std::uint64_t bytes = 0;         // their bytes (a bundle linked from another version counts under both)
  std::uint64_t linked_bytes = 0;  // the part of `bytes` stored under another version (links): not on disk twice
  std::string unit = "bundle(s)";  // what `items` counts, in words
};

// What a ContentKind works with: the settings, the open catalog, the time of the run.
struct PruneContext {
  const SyncSettings& settings;
  store::Catalog& catalog;
  std::int64_t now = 0;
  std::filesystem::path trash;  // in staging, on dest's filesystem: where a directory is renamed to go
};

// One kind of content: its usage, its retention decision, and its remover.
class ContentKind {
 public:
  virtual ~ContentKind() = default;
  // What retention keeps of this kind, in words: "superseded bundles are kept for ever
  // (keep_superseded_days is not set)"; empty when the mirror holds nothing of this kind.
  virtual std::string policy(const PruneContext& context) const = 0;
  // What it holds, per source and version. Reads only.
  virtual std::vector<UsageRow> usage(PruneContext& context) const = 0;
  // What may go now: removals an unfinished run decided (interrupted), then what the retention settings
  // let go. Reads only. `ignore_grace`: as if the grace period were 0, even when unset (for `status`:
  // what is superseded but kept for now).
  virtual std::vector<RemovalCandidate> removable(PruneContext& context, bool ignore_grace) const = 0;
  // Records the removal of these candidates (none interrupted) in one transaction, before any is removed:
  // from then on nothing publishes them and a sync does not fetch them again.
  virtual void decide(const std::vector<RemovalCandidate>& candidates, PruneContext& context) const = 0;
  // Removes one decided candidate: from disk (its directory in one rename into context.trash, so it
  // disappears whole), then from the catalog. Idempotent: what a killed run already did is skipped.
  // Throws Error(storage) naming the path that could not be removed; the next run tries again.
  virtual void remove(const RemovalCandidate& candidate, PruneContext& context) const = 0;
};

// The kinds this build knows, in the order prune runs them.
std::vector<std::unique_ptr<ContentKind>> content_kinds();

// Legacy bundles superseded by newer placed bundles (prune_superseded.hpp decides; prune_legacy.cpp).
std::unique_ptr<ContentKind> superseded_legacy_bundles();
// Depot VIBs and metadata zips no published metadata names, past depot_keep_unreferenced (prune_depot.cpp).
std::unique_ptr<ContentKind> unreferenced_depot_files();

// What `status` shows of retention, over every kind.
struct RetentionStatus {
  std::vector<UsageRow> usage;              // per source and version
  std::vector<std::string> policies;        // each kind's policy
  std::vector<RemovalCandidate> removable;  // what a prune would remove now
  std::vector<RemovalCandidate> waiting;    // what it would remove without the grace period (or, kept for
                                            // ever, with any): superseded but kept for now
};

// Reads only (a read-only catalog will do), takes no lock.
RetentionStatus retention_status(const SyncSettings& settings, store::Catalog& catalog, const util::Clock& clock);

// Prunes `catalog`'s mirror under the lock the caller holds (a sync with prune_after_sync); with
// settings.dry_run, only says what would go. A stop request (settings.network.stop_flag) ends it between
// two removals, `stopped` set. Throws Error(storage) when a removal fails (what was removed before it
// stays removed and recorded).
PruneReport prune_locked(const SyncSettings& settings, store::Catalog& catalog, const util::Clock& clock);

// `esxmirror prune`: takes the mirror's lock (Error(locked) when a run holds it), opens the state
// database, prune_locked. A dry run takes no lock and opens the state read-only. Throws Error(storage)
// when there is no state database (nothing has been mirrored).
PruneReport prune(const SyncSettings& settings, const util::Clock& clock = util::system_clock());

}  // namespace esxmirror
