// `esxmirror prune`: the order of one run over every ContentKind (see prune.hpp).
#include "esxmirror/core/prune.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/core/notices.hpp"
#include "esxmirror/core/run_lock.hpp"
#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/file_lock.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

// Under the lock, whatever is in the trash was left by a killed prune: directories renamed there but not
// deleted yet, temporary index files. (A sync's clean_staging removes it too.)
void empty_trash(const SyncSettings& settings, const fs::path& trash) {
  std::error_code ec;
  fs::remove_all(trash, ec);
  if (ec)
    warn(settings, fmt::format("could not empty {}: {} (the next run tries again)", trash.string(), ec.message()));
}

bool stop_was_requested(const SyncSettings& settings) {
  return settings.network.stop_flag && settings.network.stop_flag->load();
}

}  // namespace

std::uint64_t PruneReport::bytes() const {
  std::uint64_t total = 0;
  for (const RemovalCandidate& c : removed) total += c.bytes;
  return total;
}

std::vector<std::unique_ptr<ContentKind>> content_kinds() {
  std::vector<std::unique_ptr<ContentKind>> kinds;
  kinds.push_back(superseded_legacy_bundles());
  kinds.push_back(unreferenced_depot_files());
  return kinds;
}

PruneReport prune_locked(const SyncSettings& settings, store::Catalog& catalog, const util::Clock& clock) {
  PruneReport report;
  report.dry_run = settings.dry_run;
  if (stop_was_requested(settings)) {
    report.stopped = true;
    return report;
  }
  PruneContext context{settings, catalog, util::to_unix(clock.now()), settings.staging_dir() / "prune"};
  if (!settings.dry_run) empty_trash(settings, context.trash);

  const std::vector<std::unique_ptr<ContentKind>> kinds = content_kinds();
  std::vector<std::pair<const ContentKind*, std::vector<RemovalCandidate>>> work;
  for (const auto& kind : kinds) {
    if (std::string policy = kind->policy(context); !policy.empty()) report.policies.push_back(policy);
    work.emplace_back(kind.get(), kind->removable(context, false));
    const auto& candidates = work.back().second;
    report.removed.insert(report.removed.end(), candidates.begin(), candidates.end());
  }
  if (settings.dry_run || report.removed.empty()) return report;

  // Decided first, for every kind: a run killed from here on is finished by the next one, and nothing
  // publishes what is about to go.
  for (const auto& [kind, candidates] : work) {
    std::vector<RemovalCandidate> fresh;
    std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(fresh),
                 [](const RemovalCandidate& c) { return !c.interrupted; });
    if (!fresh.empty()) kind->decide(fresh, context);
  }
  publish::write_repository_index(settings.dest, publish::read_repository(catalog), context.trash);

  report.removed.clear();
  for (const auto& [kind, candidates] : work) {
    for (const RemovalCandidate& candidate : candidates) {
      if (stop_was_requested(settings)) {
        report.stopped = true;
        return report;
      }
      kind->remove(candidate, context);
      spdlog::info("{}: removed ({}, {} freed)", candidate.id, candidate.reason, util::human_bytes(candidate.bytes));
      report.removed.push_back(candidate);
    }
  }
  return report;
}

RetentionStatus retention_status(const SyncSettings& settings, store::Catalog& catalog, const util::Clock& clock) {
  RetentionStatus status;
  PruneContext context{settings, catalog, util::to_unix(clock.now()), settings.staging_dir() / "prune"};
  for (const auto& kind : content_kinds()) {
    if (std::string policy = kind->policy(context); !policy.empty()) status.policies.push_back(policy);
    std::vector<UsageRow> usage = kind->usage(context);
    status.usage.insert(status.usage.end(), usage.begin(), usage.end());
    std::vector<RemovalCandidate> now = kind->removable(context, false);
    for (RemovalCandidate& later : kind->removable(context, true)) {
      bool due = std::any_of(now.begin(), now.end(), [&](const RemovalCandidate& c) { return c.id == later.id; });
      if (!due) status.waiting.push_back(std::move(later));
    }
    status.removable.insert(status.removable.end(), now.begin(), now.end());
  }
  return status;
}

PruneReport prune(const SyncSettings& settings, const util::Clock& clock) {
  if (!fs::exists(settings.state_path())) {
    throw Error(ExitCode::storage, fmt::format("no state database at {}: nothing is mirrored there yet (run "
                                               "`esxmirror sync` first, or pass --dest / --state)",
                                               settings.state_path().string()));
  }
  if (settings.dry_run) {
    store::Database db(settings.state_path(), store::Database::Mode::read_only);
    store::Catalog catalog(db);
    return prune_locked(settings, catalog, clock);
  }
  util::FileLock lock = lock_mirror(settings, clock);
  store::Database db(settings.state_path(), store::Database::Mode::read_write);
  store::Catalog catalog(db);
  return prune_locked(settings, catalog, clock);
}

}  // namespace esxmirror
