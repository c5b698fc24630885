#include "esxmirror/core/sync.hpp"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "esxmirror/bundle/placement.hpp"
#include "esxmirror/core/adopt.hpp"
#include "esxmirror/core/convert_layout.hpp"
#include "esxmirror/core/discover.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/mirror.hpp"
#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/prune.hpp"
#include "esxmirror/core/run_lock.hpp"
#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/file_lock.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace fs = std::filesystem;

namespace {

// A hidden temporary name of ours: ".<name>.tmp-<random>" (atomic writes, links being placed) or
// ".<name>.old-<random>" (a copy set aside while replacing, on filesystems without renameat2 flags).
bool is_temporary_name(const std::string& name) {
  return name.size() > 1 && name[0] == '.' && (name.find(".tmp-") != std::string::npos ||
                                               name.find(".old-") != std::string::npos);
}

// What earlier runs left when they were killed: in staging, half-unpacked trees, swapped-out old copies
// and temporary files; beside final names (dest and its version directories), temporary links and
// set-aside copies. Partial downloads stay: they are resumed.
void clean_staging(const SyncSettings& settings) {
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(settings.staging_dir(), ignored)) {
    if (entry.is_directory(ignored) || is_temporary_name(entry.path().filename().string())) {
      fs::remove_all(entry.path(), ignored);
    }
  }
  for (const auto& entry : fs::directory_iterator(settings.dest, ignored)) {
    const std::string name = entry.path().filename().string();
    if (is_temporary_name(name)) {
      fs::remove_all(entry.path(), ignored);
    } else if (name != ".esxmirror" && !entry.is_symlink(ignored) && entry.is_directory(ignored)) {
      for (const auto& inner : fs::directory_iterator(entry.path(), ignored)) {
        if (is_temporary_name(inner.path().filename().string())) fs::remove_all(inner.path(), ignored);
      }
    }
  }
}

PlanInput plan_input(const SyncSettings& settings, const DiscoverResult& found, store::Catalog& catalog,
                     std::map<std::string, std::set<std::string>>& placed_versions, std::int64_t now) {
  PlanInput input;
  input.patches = found.patches;
  input.versions = settings.versions;
  input.classifications = settings.classifications;
  input.bundles = catalog.bundles();
  input.now = now;
  for (const store::CatalogEntry& entry : catalog.entries()) {
    for (const store::PlacementRow& p : entry.placements) placed_versions[entry.patch.id].insert(p.version);
    if (entry.bundle && entry.bundle->state == store::BundleState::placed && entry.bundle->path &&
        !fs::exists(settings.dest / *entry.bundle->path)) {
      input.missing_on_disk.insert(entry.patch.id);  // removed by hand: fetch it again
    }
  }
  // Not placed any more: if fetching it again fails, neither `list` nor the index may show it as placed.
  for (const std::string& id : input.missing_on_disk) catalog.forget_placement(id, now);
  input.placed_versions = placed_versions;
  return input;
}

// The bundle's size when an earlier run learned it: the placed copy (for a link), or a download of the
// same bytes the page promises now (for a fetch).
std::optional<std::uint64_t> known_size(const PlannedPatch& planned,
                                        const std::map<std::string, store::BundleRow>& bundles) {
  auto row = bundles.find(planned.patch.id);
  if (row == bundles.end() || !row->second.size) return std::nullopt;
  bool same_bytes = planned.action == Action::link ||
                    (planned.action == Action::fetch && planned.patch.md5 &&
                     row->second.verified_md5_expected == planned.patch.md5);
  if (!same_bytes) return std::nullopt;
  return static_cast<std::uint64_t>(*row->second.size);
}

// What is reported for a patch nothing is done to: skipped, deferred, or (--dry-run) what would be done.
void report_plan_only(const PlannedPatch& planned, const std::map<std::string, store::BundleRow>& bundles,
                      RunReport& report) {
  PatchReport entry{.id = planned.patch.id, .versions = planned.versions, .reason = planned.reason};
  if (planned.action == Action::defer) {
    entry.outcome = PatchOutcome::deferred;
    spdlog::warn("{}: failed before ({}); not retried before its backoff ends (`esxmirror retry {}` to try now)",
                 planned.patch.id, planned.reason, planned.patch.id);
  } else if (planned.action != Action::skip) {
    entry.outcome = PatchOutcome::planned;
    entry.action = planned.action == Action::fetch ? "fetch" : planned.action == Action::replace ? "replace" : "link";
    entry.url = util::mask_url(planned.patch.download_url);
    entry.release_date = planned.patch.release_date;
    entry.size = known_size(planned, bundles);
  }
  report.patches.push_back(std::move(entry));
}

bool stop_was_requested(const SyncSettings& settings) {
  return settings.network.stop_flag && settings.network.stop_flag->load();
}

ExitCode final_exit_code(const RunReport& report, int page_failures) {
  if (report.exit_code != ExitCode::ok) return report.exit_code;
  if (report.count(PatchOutcome::failed) || report.count(PatchOutcome::deferred) || page_failures) {
    return ExitCode::partial;
  }
  return ExitCode::ok;
}

const char* outcome_name(ExitCode code) {
  switch (code) {
    case ExitCode::ok: return "ok";
    case ExitCode::partial: return "partial";
    case ExitCode::interrupted: return "interrupted";
    default: return "failed";
  }
}

}  // namespace

RunReport sync(const SyncSettings& settings, const util::Clock& clock) {
  auto started = std::chrono::steady_clock::now();
  // Usage errors before anything is touched: no <dest>, no state database, no run record.
  source::Rules rules(settings.rules);
  check_source(settings);
  std::optional<util::FileLock> lock;
  if (!settings.dry_run) lock.emplace(lock_mirror(settings, clock));
  store::Database db(settings.state_path(),
                     settings.dry_run ? store::Database::Mode::in_memory : store::Database::Mode::read_write);
  store::Catalog catalog(db);

  RunReport report;
  report.dry_run = settings.dry_run;
  report.started_at = util::iso8601(clock.now());
  std::int64_t now = util::to_unix(clock.now());
  report.run_id = catalog.start_run(now);
  int page_failures = 0;

  try {
    if (!settings.dry_run) {
      clean_staging(settings);
      report.converted = convert_nested_bundles(settings, catalog);
    }

    DiscoverResult found = discover(settings, rules, catalog, now);
    report.warnings = found.warnings;
    report.requests += found.requests;
    report.pages_fetched = found.pages_fetched;
    report.pages_not_modified = found.pages_not_modified;
    page_failures = found.page_failures;

    std::map<std::string, std::set<std::string>> placed_versions;
    std::vector<PlannedPatch> plan = plan_patches(plan_input(settings, found, catalog, placed_versions, now));
    for (const PlannedPatch& planned : plan) {
      bool placing = planned.action == Action::fetch || planned.action == Action::replace;
      if (placing && !planned.patch.release_date) {
        report.warnings.push_back(fmt::format("{} has no parseable release date; stored as {}", planned.patch.id,
                                              bundle::bundle_dir_name(std::nullopt, planned.patch.id)));
      }
    }

    MirrorContext context{settings, catalog, report, clock, placed_versions};
    std::vector<PlannedPatch> to_fetch;
    const std::map<std::string, store::BundleRow> bundles = catalog.bundles();
    for (const PlannedPatch& planned : plan) {
      if (settings.dry_run) {
        report_plan_only(planned, bundles, report);
      } else if (planned.action == Action::link) {
        link_versions(planned, context);
      } else if (planned.action == Action::fetch && adopt_placed_copy(planned, context)) {
        continue;  // already on disk under its final name (state was lost): recorded, not fetched
      } else if (planned.action == Action::fetch || planned.action == Action::replace) {
        to_fetch.push_back(planned);
      } else {
        report_plan_only(planned, bundles, report);
      }
    }
    mirror_bundles(to_fetch, context);
    if (settings.retention.prune_after_sync) report.pruned = prune_locked(settings, catalog, clock);
    if (stop_was_requested(settings)) throw Error(ExitCode::interrupted, "interrupted: in-flight downloads are kept and resumed by the next run");
    if (!settings.dry_run) {
      publish::write_repository_index(settings.dest, catalog.entries(), clock.now(), settings.staging_dir());
    }
  } catch (const Error& e) {
    report.exit_code = e.code();
    report.message = e.what();
  } catch (const std::exception& e) {
    // Not foreseen (a filesystem error in adoption or placing): still the run's end, recorded and reported.
    report.exit_code = ExitCode::storage;
    report.message = describe_unexpected(e);
  }

  report.exit_code = final_exit_code(report, page_failures);
  report.outcome = outcome_name(report.exit_code);
  report.finished_at = util::iso8601(clock.now());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (page_failures && report.message.empty()) {
    report.message = fmt::format("{} patch page(s) could not be read; the mirror may miss their patches", page_failures);
  }
  store::RunRow run{report.run_id, now, util::to_unix(clock.now()), report.outcome,
                    static_cast<int>(report.exit_code),
                    report.count(PatchOutcome::placed) + report.count(PatchOutcome::replaced),
                    report.count(PatchOutcome::skipped) + report.count(PatchOutcome::linked),
                    report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred),
                    static_cast<std::int64_t>(report.bytes_downloaded), report.message};
  try {
    catalog.finish_run(run);
  } catch (const Error& e) {
    if (report.exit_code == ExitCode::ok || report.exit_code == ExitCode::partial) {
      report.exit_code = ExitCode::storage;
      report.message = e.what();
    }
  }
  return report;
}

}  // namespace esxmirror
