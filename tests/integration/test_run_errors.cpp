// Issue 13.3: how a run ends when it cannot go on. A usage error creates nothing (no <dest>, no state
// database, no run record); an unexpected filesystem error inside a run (adopting, placing) still ends
// it properly: the run recorded as finished, report and metrics written, one line naming the path, exit 5.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

bool empty_dir(const fs::path& dir) { return fs::directory_iterator(dir) == fs::directory_iterator(); }

std::size_t error_lines(const std::string& err) {
  std::size_t n = 0;
  for (std::size_t at = err.find("esxmirror: error: "); at != std::string::npos;
       at = err.find("esxmirror: error: ", at + 1)) {
    ++n;
  }
  return n;
}

// The run ended as a storage error naming `path`: exit 5, one error line, the run recorded as finished
// with exit 5, the report and the metrics saying so.
void check_ended_with_storage_error(MirrorFixture& f, const ProcessResult& r, const fs::path& report,
                                    const fs::path& metrics, const std::string& path) {
  INFO(r.all());
  CHECK(r.exit_code == 5);
  CHECK(error_lines(r.err) == 1);
  CHECK(has(r.err, "esxmirror: error: "));
  CHECK(has(r.err, path));
  CHECK_FALSE(has(r.err, "unexpected failure"));
  auto json = nlohmann::json::parse(slurp(report));
  CHECK(json["exit_code"] == 5);
  CHECK(json["outcome"] == "failed");
  CHECK(has(json["message"].get<std::string>(), path));
  CHECK(has(slurp(metrics), "esxmirror_last_exit_code 5\n"));
  auto runs = nlohmann::json::parse(f.command("status", {"--json"}).out)["runs"];
  REQUIRE_FALSE(runs.empty());
  CHECK(runs[0]["exit_code"] == 5);
  CHECK(runs[0]["outcome"] == "failed");
  CHECK(runs[0]["finished_at"] != "-");
  CHECK(has(runs[0]["message"].get<std::string>(), path));
}

}  // namespace

TEST_CASE("run errors: a usage error creates nothing: no mirror directory, no state database, no run record",
          "[errors][usage]") {
  MirrorFixture f;
  TempDir cwd;  // where the default --dest ./esx-mirror would appear
  const fs::path bad_config = f.tmp / "bad.toml";
  std::ofstream(bad_config) << "jobs = \"many\"\n";
  const std::string index = f.server.index_url();
  const std::vector<std::vector<std::string>> cases = {
      {"sync", "--source", "foo", "--esx-version", "3.0.1"},
      {"sync", "--source", "ftp://127.0.0.1/download/vi/vi3_patches.html", "--esx-version", "3.0.1"},
      {"sync", "--source", "file:///etc/passwd", "--esx-version", "3.0.1"},
      {"sync", "--source", index},
      {"sync", "--esx-version", "3.0.1"},
      {"sync", "--source", index, "--esx-version", "3.0.1", "--jobs", "0"},
      {"sync", "--source", index, "--esx-version", "3.0.1", "--config", bad_config.string()},
      {"sync", "--source", index, "--esx-version", "3.0.1", "--no-such-option"},
      {"list", "--state-filter", "broken"},
      {"retry"},
  };
  for (const std::vector<std::string>& args : cases) {
    ProcessResult r = run_process(binary_path(), args, std::chrono::seconds(30), cwd.path());
    INFO(args[0] << " " << (args.size() > 2 ? args[2] : "") << ": " << r.all());
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
    CHECK(empty_dir(cwd.path()));
  }
  CHECK(f.server.hits().empty());  // nothing was asked of the source either
  ProcessResult named = run_process(binary_path(), cases[0], std::chrono::seconds(30), cwd.path());
  CHECK(has(named.err, "esxmirror: error: --source foo is not an http(s) URL"));
}

TEST_CASE(
    "run errors: a filesystem error while adopting a bundle ends the run properly: exit 5 naming the path, "
    "the run recorded, report and metrics written",
    "[errors]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  for (const char* suffix : {"", "-wal", "-shm"})
    fs::remove(f.dest / ".esxmirror" / (std::string("state.db") + suffix));
  // A link that leads to itself: what the bundle directory holds cannot be read.
  const fs::path loop = f.bundle_dir("3.0.1", "ESX-1000050") / "loop";
  fs::create_symlink("loop", loop);
  const fs::path report = f.tmp / "report.json", metrics = f.tmp / "esxmirror.prom";
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--report", report.string(), "--metrics", metrics.string()});
  check_ended_with_storage_error(f, r, report, metrics, loop.string());

  fs::remove(loop);
  ProcessResult again = f.sync({"--esx-version", "3.0.1"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
}

TEST_CASE(
    "run errors: a filesystem error while placing ends the run properly: exit 5 naming the path, the run "
    "recorded, report and metrics written, the mirror intact",
    "[errors]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  SamplePatch added;
  added.id = "ESX-1004000", added.kb = "1004000", added.versions = {"3.0.1"};
  added.date_text = "1/15/08", added.iso_date = "2008-01-15";
  f.server.edit([&](SampleSite& site) { site.add_patch(added); });
  // Where downloads are unpacked is a file now: the new bundle cannot be staged.
  const fs::path staging = f.dest / ".esxmirror" / "staging";
  fs::remove_all(staging);
  std::ofstream(staging) << "not a directory\n";
  const fs::path report = f.tmp / "report.json", metrics = f.tmp / "esxmirror.prom";
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--report", report.string(), "--metrics", metrics.string()});
  check_ended_with_storage_error(f, r, report, metrics, staging.string());
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));

  fs::remove(staging);
  ProcessResult again = f.sync({"--esx-version", "3.0.1"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1004000"));
}
