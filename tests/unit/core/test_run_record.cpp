// How a run ends: one decision for sync and repair, from what the run reported, and the runs row it leaves
// (what `status` and the next run read).
#include <catch2/catch.hpp>

#include "esxmirror/core/run_record.hpp"
#include "esxmirror/store/database.hpp"
#include "support/process.hpp"

using namespace esxmirror;

namespace {

RunReport with_patches(std::initializer_list<PatchOutcome> outcomes) {
  RunReport report;
  for (PatchOutcome outcome : outcomes) report.patches.push_back({.id = "ESX-1", .outcome = outcome});
  return report;
}

SourceReport source_ending(ExitCode code) {
  SourceReport source;
  source.exit_code = code;
  return source;
}

}  // namespace

TEST_CASE("run exit code: run-level failure, then an unreadable source, then anything incomplete", "[run]") {
  CHECK(run_exit_code(with_patches({})) == ExitCode::ok);
  CHECK(run_exit_code(with_patches({PatchOutcome::placed, PatchOutcome::linked})) == ExitCode::ok);
  CHECK(run_exit_code(with_patches({PatchOutcome::placed, PatchOutcome::failed})) == ExitCode::partial);
  CHECK(run_exit_code(with_patches({PatchOutcome::deferred})) == ExitCode::partial);

  RunReport report = with_patches({PatchOutcome::failed});
  report.sources = {source_ending(ExitCode::partial), source_ending(ExitCode::source)};
  CHECK(run_exit_code(report) == ExitCode::source);  // one source unreadable outweighs a partial one
  report.sources = {source_ending(ExitCode::ok), source_ending(ExitCode::partial)};
  CHECK(run_exit_code(report) == ExitCode::partial);
  report.exit_code = ExitCode::storage;
  CHECK(run_exit_code(report) == ExitCode::storage);
  report.exit_code = ExitCode::interrupted;
  CHECK(run_exit_code(report) == ExitCode::interrupted);

  CHECK(std::string(run_outcome(ExitCode::ok)) == "ok");
  CHECK(std::string(run_outcome(ExitCode::partial)) == "partial");
  CHECK(std::string(run_outcome(ExitCode::interrupted)) == "interrupted");
  CHECK(std::string(run_outcome(ExitCode::source)) == "failed");
  CHECK(std::string(run_outcome(ExitCode::storage)) == "failed");
}

TEST_CASE("run record: the row says when it started and ended, how, and what it did", "[run]") {
  testing::TempDir dir;
  store::Database db(dir.path() / "state.db", store::Database::Mode::read_write);
  store::Catalog catalog(db);
  RunReport report = with_patches({PatchOutcome::replaced, PatchOutcome::failed, PatchOutcome::linked});
  report.bytes_downloaded = 1234;
  report.message = "one bundle failed";
  report.run_id = catalog.start_run(1000);
  record_run(catalog, report, 1000, 1042, "repair:");

  CHECK(report.exit_code == ExitCode::partial);
  CHECK(report.outcome == "partial");
  CHECK(report.finished_at == "1970-01-01T00:17:22Z");
  std::vector<store::RunRow> runs = catalog.recent_runs(5);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].started_at == 1000);
  CHECK(runs[0].finished_at == 1042);
  CHECK(runs[0].outcome == "repair:partial");
  CHECK(runs[0].exit_code == 1);
  CHECK(runs[0].placed == 1);
  CHECK(runs[0].skipped == 1);
  CHECK(runs[0].failed == 1);
  CHECK(runs[0].bytes == 1234);
  CHECK(runs[0].message == "one bundle failed");
}
