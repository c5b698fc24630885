#include <cstdio>
#include <fstream>

#include <spdlog/spdlog.h>

#include "cli/commands/commands.hpp"
#include "cli/output.hpp"
#include "cli/run_outputs.hpp"
#include "cli/token.hpp"
#include "esxmirror/core/error.hpp"
#include "esxmirror/core/interrupt.hpp"
#include "esxmirror/core/sync.hpp"
#include "esxmirror/store/catalog.hpp"
#include "esxmirror/store/database.hpp"
#include "esxmirror/util/fs.hpp"

namespace esxmirror::cli {

namespace {

void validate(const SyncSettings& s) {
  if (s.sources.empty()) {
    throw Error(ExitCode::usage,
                "sync needs --source URL (the vendor's patch index page, or a depot's "
                "vmw-depot-index.xml)");
  }
  if (s.versions.empty())
    throw Error(ExitCode::usage, "sync needs at least one --esx-version, e.g. --esx-version 3.0.1");
}

// The last success the metrics file already records (for a run that cannot read the state database).
std::int64_t previous_last_success(const std::string& file) {
  const std::string name = "esxmirror_last_success_timestamp_seconds ";
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    try {
      return std::stoll(line.substr(name.size()));
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

// Bundles per state and the newest successful run, read back from the state database for the metrics.
void write_metrics(const Options& options, const RunReport& report) {
  std::map<std::string, int> by_state;
  std::int64_t last_success = 0;
  std::int64_t finished = util::to_unix(util::system_clock().now());
  try {
    store::Database db(options.sync.state_path(), store::Database::Mode::read_only);
    store::Catalog catalog(db);
    for (const auto& [id, bundle] : catalog.bundles()) ++by_state[store::to_string(bundle.state)];
    auto s = db.prepare("SELECT MAX(finished_at) FROM runs WHERE exit_code = 0");
    if (s.step()) last_success = s.optional_integer(0).value_or(0);
  } catch (const util::StorageError& e) {
    spdlog::warn("metrics without catalog counts: {}", e.what());
    last_success = previous_last_success(options.metrics_file);
  }
  util::write_file_atomic(options.metrics_file, render_metrics(report, finished, last_success, by_state));
}

}  // namespace

int run_sync(Options& options) {
  validate(options.sync);
  load_token(options);
  options.sync.network.stop_flag = &stop_requested();
  options.sync.on_progress = progress_printer(options);
  options.sync.on_notice = notice_printer();
  RunReport report;
  try {
    report = sync(options.sync);
  } catch (const std::exception& failure) {
    const Error e = run_error(failure);
    // Refused before the run started (lock held, state database unusable): the report and the metrics
    // still record it, so monitoring never keeps showing the previous run's exit code.
    end_progress_line();
    if (options.report_file.empty() && (options.metrics_file.empty() || options.sync.dry_run)) throw;
    report.dry_run = options.sync.dry_run;
    report.exit_code = e.code();
    report.outcome = e.code() == ExitCode::interrupted ? "interrupted" : "failed";
    report.message = e.what();
    report.started_at = report.finished_at = util::iso8601(util::system_clock().now());
  }
  end_progress_line();

  if (!report.message.empty()) print_error(report.message);
  if (!options.report_file.empty()) {
    std::string json = render_run_report(report);
    if (options.report_file == "-") {
      std::fwrite(json.data(), 1, json.size(), stdout);
    } else {
      util::write_file_atomic(options.report_file, json);
    }
  }
  if (!options.metrics_file.empty() && !report.dry_run) write_metrics(options, report);
  if (options.report_file != "-") {
    print_dry_run_plan(report, options);
    print_new_items(report, options);
    print_summary(report, options);
    if (report.pruned) print_prune(*report.pruned, options);
  }
  return static_cast<int>(report.exit_code);
}

}  // namespace esxmirror::cli
