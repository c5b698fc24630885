#include "esxmirror/core/run_record.hpp"

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/clock.hpp"

namespace esxmirror {

ExitCode run_exit_code(const RunReport& report) {
  if (report.exit_code != ExitCode::ok) return report.exit_code;
  bool unreadable = false, incomplete = false;
  for (const SourceReport& source : report.sources) {
    unreadable = unreadable || source.exit_code == ExitCode::source;
    incomplete = incomplete || source.exit_code == ExitCode::partial;
  }
  if (unreadable) return ExitCode::source;
  if (incomplete || report.count(PatchOutcome::failed) || report.count(PatchOutcome::deferred)) {
    return ExitCode::partial;
  }
  return ExitCode::ok;
}

const char* run_outcome(ExitCode code) {
  switch (code) {
    case ExitCode::ok:
      return "ok";
    case ExitCode::partial:
      return "partial";
    case ExitCode::interrupted:
      return "interrupted";
    default:
      return "failed";
  }
}

void record_run(store::Catalog& catalog, RunReport& report, std::int64_t started_at, std::int64_t now,
                const std::string& kind) {
  report.exit_code = run_exit_code(report);
  report.outcome = run_outcome(report.exit_code);
  report.finished_at = util::iso8601(util::from_unix(now));
  store::RunRow run{report.run_id,
                    started_at,
                    now,
                    kind + report.outcome,
                    static_cast<int>(report.exit_code),
                    report.count(PatchOutcome::placed) + report.count(PatchOutcome::replaced),
                    report.count(PatchOutcome::skipped) + report.count(PatchOutcome::linked),
                    report.count(PatchOutcome::failed) + report.count(PatchOutcome::deferred),
                    static_cast<std::int64_t>(report.bytes_downloaded),
                    report.message};
  try {
    catalog.finish_run(run);
  } catch (const util::StorageError& e) {
    if (report.exit_code == ExitCode::ok || report.exit_code == ExitCode::partial) {
      report.exit_code = ExitCode::storage;
      report.message = e.what();
    }
  }
}

}  // namespace esxmirror
