#include "esxmirror/core/sync.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "esxmirror/core/clean_staging.hpp"
#include "esxmirror/core/convert_layout.hpp"
#include "esxmirror/core/discover.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/prune.hpp"
#include "esxmirror/core/run_lock.hpp"
#include "esxmirror/core/run_record.hpp"
#include "esxmirror/core/source_mirror.hpp"
#include "esxmirror/core/whats_new.hpp"
#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "esxmirror/util/file_lock.hpp"
#include "esxmirror/util/url.hpp"

namespace esxmirror {

namespace {

bool stop_was_requested(const SyncSettings& settings) {
  return settings.network.stop_flag && settings.network.stop_flag->load();
}

// Every --source is an http(s) URL: a usage error before anything is touched.
void check_sources(const SyncSettings& settings) {
  for (const std::string& url : settings.sources) {
    SyncSettings one = settings;
    one.source_url = url;
    check_source(one);
  }
}

// One --source, whatever its kind. A source that cannot be read is recorded in its report and the others
// still run; a storage error or an interruption ends the run.
void mirror_source(const SourceEnvironment& env, const std::string& url, RunReport& report) {
  SourceReport outcome{.url = util::mask_url(env.settings.network.secrets.stored(url))};
  try {
    std::unique_ptr<SourceMirror> source = open_source(env, url, report.sources, outcome);
    source->mirror(report, outcome);
    if (!env.settings.dry_run &&
        source->kind() != SourceKind::mirror) {  // a mirror is known by its manifest's page row
      store::record_source(env.db, {source->stored_url(), to_string(source->kind()), source->name()},
                           util::to_unix(env.clock.now()));
    }
  } catch (const std::exception& failure) {
    const Error e = run_error(failure);
    outcome.exit_code = e.code();
    outcome.message = e.what();
    report.sources.push_back(std::move(outcome));
    if (e.code() != ExitCode::source) throw;
    return;
  }
  report.sources.push_back(std::move(outcome));
}

// Runs one pass of the run and says how long it took (-vv): where a slow night went, without a profiler.
template <typename Pass>
auto timed(const std::string& pass, Pass&& run) {
  const auto start = std::chrono::steady_clock::now();
  struct SayTime {
    const std::string& pass;
    std::chrono::steady_clock::time_point start;
    ~SayTime() {
      spdlog::debug("pass {}: {:.3f} s", pass,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  } say{pass, start};
  return run();
}

}  // namespace

RunReport sync(const SyncSettings& settings, const util::Clock& clock) {
  auto started = std::chrono::steady_clock::now();
  // Usage errors before anything is touched: no <dest>, no state database, no run record.
  source::Rules rules(settings.rules);
  check_sources(settings);
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
  const SourceEnvironment env{settings, rules, db, catalog, clock};

  try {
    if (!settings.dry_run) {
      timed("clean_staging", [&] { clean_staging(settings); });
      report.converted = timed("convert_layout", [&] { return convert_nested_bundles(settings, catalog); });
    }

    for (const std::string& url : settings.sources) {
      timed("mirror " + util::mask_url(settings.network.secrets.stored(url)), [&] { mirror_source(env, url, report); });
    }
    if (!settings.dry_run) {
      report.new_items = timed("whats_new", [&] { return record_new_items(db, report, util::to_unix(clock.now())); });
    }
    if (settings.retention.prune_after_sync) {
      report.pruned = timed("prune", [&] { return prune_locked(settings, catalog, clock); });
    }
    if (stop_was_requested(settings))
      throw Error(ExitCode::interrupted, "interrupted: in-flight downloads are kept and resumed by the next run");
    // Nothing new to say when no source could be read: what is published stays as it is.
    bool any_read = std::any_of(report.sources.begin(), report.sources.end(),
                                [](const SourceReport& source) { return source.exit_code != ExitCode::source; });
    if (!settings.dry_run && any_read) {
      timed("publish_index", [&] {
        publish::write_repository_index(settings.dest, publish::read_repository(catalog), settings.staging_dir());
      });
    }
  } catch (const std::exception& e) {
    // Also what was not foreseen (a filesystem error in adoption or placing): the run's end, recorded.
    const Error end = run_error(e);
    report.exit_code = end.code();
    report.message = end.what();
  }

  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int page_failures = 0;
  for (const SourceReport& source : report.sources) {
    if (source.exit_code == ExitCode::source && report.message.empty()) report.message = source.message;
    page_failures += source.pages_failed;
  }
  if (page_failures && report.message.empty()) {
    report.message =
        fmt::format("{} patch page(s) could not be read; the mirror may miss their patches", page_failures);
  }
  record_run(catalog, report, now, util::to_unix(clock.now()), "");
  return report;
}

}  // namespace esxmirror
