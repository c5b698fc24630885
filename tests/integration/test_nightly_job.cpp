// Issue 3: what an operator running esxmirror nightly relies on — the lock, the config file, the run
// report and metrics, the list/status/verify/retry commands, the failure backoff and the published
// index — checked against the real binary, the disk, the exit codes and the requests the site saw.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

std::string hostname() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

std::vector<std::string> sync_args(const MirrorFixture& f, const std::vector<std::string>& extra) {
  std::vector<std::string> all = {"sync",          "--source", f.server.index_url(), "--dest",
                                  f.dest.string(), "--config", f.config.string()};
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

ProcessResult run_esxmirror(const std::vector<std::string>& args) { return run_process(binary_path(), args); }

// Polls `condition` every 10 ms for up to `limit`; true when it held.
template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

Fault not_found() {
  Fault f;
  f.status = 404;
  f.status_times = -1;
  return f;
}

Fault slow(int ms) {
  Fault f;
  f.delay_ms = ms;
  return f;
}

std::set<std::string> ids_of(const json& list) {
  std::set<std::string> ids;
  for (const json& item : list) ids.insert(item.at("id").get<std::string>());
  return ids;
}

// "name{labels} value" lines of a Prometheus textfile -> value; also checks every sample has HELP/TYPE.
std::map<std::string, std::string> parse_metrics(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    std::string name = line.substr(0, space);
    CHECK(typed.count(name.substr(0, name.find('{'))) == 1);
    CHECK(samples.count(name) == 0);
    samples[name] = line.substr(space + 1);
  }
  return samples;
}

double number(const std::map<std::string, std::string>& metrics, const std::string& name) {
  auto it = metrics.find(name);
  if (it == metrics.end()) FAIL("no metric " << name);
  return std::stod(it->second);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// The first regular file of a bundle, relative to its bundle directory.
std::string first_file(const SampleSite& site, const std::string& id, int nth = 0) {
  for (const ArchiveEntry& entry : site.placed_contents(id)) {
    if (entry.type == ArchiveEntry::Type::file && nth-- == 0) return entry.path;
  }
  FAIL("bundle " << id << " has no file");
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// 1. Lock

TEST_CASE("a second sync on the same mirror exits 3 at once, naming the holder's pid and host", "[nightly][lock]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const std::string slow_bundle = site.bundle_path("ESX-1000039");
  f.server.set_fault(slow_bundle, slow(4000));

  Child first(binary_path(), sync_args(f, {"--esx-version", "3.0.1"}), f.tmp.path());
  // Once the first run asks for the slow bundle it is surely past the lock.
  REQUIRE(eventually([&] { return f.server.count(slow_bundle) > 0; }));
  std::string lock_text = slurp(f.dest / ".esxmirror" / "lock");
  CHECK(lock_text.find("pid " + std::to_string(first.pid())) != std::string::npos);

  auto started = std::chrono::steady_clock::now();
  fs::path report_file = f.tmp / "refused.json";
  ProcessResult second = f.sync({"--esx-version", "3.0.1", "--report", report_file.string()});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(second.all());
  CHECK(second.exit_code == 3);
  CHECK(seconds < 2.0);  // at once, not after waiting for the holder
  CHECK(second.err.find("pid " + std::to_string(first.pid())) != std::string::npos);
  CHECK(second.err.find(hostname()) != std::string::npos);
  CHECK(second.err.find(f.dest.string()) != std::string::npos);
  // The refused run's report says so too (a nightly job's report is what someone reads in the morning).
  json refused = json::parse(slurp(report_file));
  CHECK(refused["exit_code"] == 3);
  CHECK(refused["message"].get<std::string>().find("pid " + std::to_string(first.pid())) != std::string::npos);

  ProcessResult done = first.wait();
  INFO(done.all());
  CHECK(done.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  // The refused run touched nothing: one body per bundle, from the holder.
  for (const std::string& id : k301) CHECK(f.server.body_count(site.bundle_path(id)) == 1);
}

TEST_CASE("a lock holder killed with SIGKILL never blocks the next run, which completes the mirror",
          "[nightly][lock]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const std::string slow_bundle = site.bundle_path("ESX-1000070");
  f.server.set_fault(slow_bundle, slow(30000));

  Child holder(binary_path(), sync_args(f, {"--esx-version", "3.0.1"}), f.tmp.path());
  REQUIRE(eventually([&] { return f.server.count(slow_bundle) > 0; }));
  holder.signal(SIGKILL);
  ProcessResult killed = holder.wait();
  REQUIRE(killed.signal == SIGKILL);
  REQUIRE(fs::exists(f.dest / ".esxmirror" / "lock"));  // the file stays; the kernel dropped the flock

  f.server.clear_faults();
  ProcessResult next = f.sync({"--esx-version", "3.0.1"});
  INFO(next.all());
  REQUIRE(next.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  CHECK(slurp(f.dest / ".esxmirror" / "lock").find("pid " + std::to_string(holder.pid())) == std::string::npos);
  auto manifest = json::parse(slurp(f.dest / "manifest.json"));
  CHECK(manifest["versions"]["3.0.1"].size() == k301.size());
  // Nothing the killed run left half-done is visible or left to unpack.
  for (const auto& entry : fs::directory_iterator(f.dest / ".esxmirror" / "staging")) {
    CHECK(entry.path().filename().string().find(".unpack") == std::string::npos);
  }

  // `status` does not show the killed run as still running.
  ProcessResult status = f.command("status", {"--json"});
  INFO(status.all());
  REQUIRE(status.exit_code == 0);
  json runs = json::parse(status.out)["runs"];
  REQUIRE(runs.size() == 2);
  CHECK(runs[0]["outcome"] == "ok");
  CHECK(runs[1]["outcome"] != "running");
}

// ---------------------------------------------------------------------------------------------------
// 2. Config

TEST_CASE("config errors exit 2 naming the key and its line", "[nightly][config]") {
  MirrorFixture f;
  struct Case {
    std::string text, key, line;
  };
  const std::vector<Case> cases = {
      {"jobs = 2\n\n# typo below\nesx_versions = [\"3.0.1\"]\n", "'esx_versions'", ":4:"},
      {"jobs = \"many\"\n", "'jobs'", ":1:"},
      {"retries = 3\njobs = 0\n", "'jobs'", ":2:"},
      {"limit_rate = \"fast\"\n", "'limit_rate'", ":1:"},
      {"keep_archives = 1\n", "'keep_archives'", ":1:"},
  };
  for (const Case& c : cases) {
    write(f.tmp / "bad.toml", c.text);
    ProcessResult r = run_esxmirror({"sync", "--config", (f.tmp / "bad.toml").string(), "--source",
                                     f.server.index_url(), "--esx-version", "3.0.1", "--dest", f.dest.string()});
    INFO(c.text << "\n" << r.all());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.key) != std::string::npos);
    CHECK(r.err.find("bad.toml" + c.line) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one line, no stack trace
  }
  CHECK_FALSE(fs::exists(f.dest));
  CHECK(f.server.hits().empty());

  ProcessResult missing = run_esxmirror({"config", "show", "--config", (f.tmp / "nope.toml").string()});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("nope.toml") != std::string::npos);
}

TEST_CASE("the command line wins over the config file", "[nightly][config]") {
  MirrorFixture f;
  fs::path elsewhere = f.tmp / "from-config";
  write(f.tmp / "site.toml", "retry_base_delay_ms = 20\njobs = 1\ndest = \"" + elsewhere.string() +
                                 "\"\nesx_version = [\"3.0.2\"]\nsource = \"" + f.server.index_url() + "\"\n");
  ProcessResult shown = run_esxmirror(
      {"config", "show", "--config", (f.tmp / "site.toml").string(), "--jobs", "3", "--dest", f.dest.string()});
  INFO(shown.all());
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("jobs = 3") != std::string::npos);
  CHECK(shown.out.find("dest = '" + f.dest.string() + "'") != std::string::npos);
  CHECK(shown.out.find(elsewhere.string()) == std::string::npos);
  CHECK(shown.out.find("retry_base_delay_ms = 20") != std::string::npos);  // the file's value where no option

  // A real run: dest from the command line, versions and source from the file.
  ProcessResult r = run_esxmirror({"sync", "--config", (f.tmp / "site.toml").string(), "--dest", f.dest.string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(elsewhere));
  for (const std::string& id : k302) CHECK(f.bundle_matches_site("3.0.2", id));
  CHECK_FALSE(fs::exists(f.dest / "3.0.1" / "2007-03-29_ESX-1000039"));

  // And the versions on the command line replace the file's list.
  ProcessResult again = run_esxmirror(
      {"sync", "--config", (f.tmp / "site.toml").string(), "--dest", f.dest.string(), "--esx-version", "3.0.1"});
  INFO(again.all());
  REQUIRE(again.exit_code == 0);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000039"));
  ProcessResult versions =
      run_esxmirror({"config", "show", "--config", (f.tmp / "site.toml").string(), "--esx-version", "3.0.1"});
  CHECK(versions.out.find("esx_version = [ '3.0.1' ]") != std::string::npos);
}

TEST_CASE("config show prints the effective configuration with secrets masked", "[nightly][config]") {
  TempDir tmp;
  write(tmp / "secret.toml",
        "source = \"https://vendor.example/download/vi/vi3_patches.html?token=abc987xyz&lang=en\"\n"
        "proxy = \"http://user:secret42@proxy.internal:3128\"\nesx_version = \"3.0.1\"\n");
  ProcessResult r = run_esxmirror({"config", "show", "--config", (tmp / "secret.toml").string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("secret42") == std::string::npos);
  CHECK(r.out.find("abc987xyz") == std::string::npos);
  CHECK(r.out.find("proxy.internal:3128") != std::string::npos);
  CHECK(r.out.find("vendor.example/download/vi/vi3_patches.html") != std::string::npos);
  CHECK(r.out.find("esx_version = [ '3.0.1' ]") != std::string::npos);

  // The same when the secrets come from the command line.
  ProcessResult cli = run_esxmirror({"config", "show", "--proxy", "http://ops:hunter2pw@10.0.0.1:8080", "--source",
                                     "https://vendor.example/x.html?token=abc987xyz"});
  INFO(cli.all());
  REQUIRE(cli.exit_code == 0);
  CHECK(cli.out.find("hunter2pw") == std::string::npos);
  CHECK(cli.out.find("abc987xyz") == std::string::npos);
  CHECK(cli.out.find("10.0.0.1:8080") != std::string::npos);
}

TEST_CASE("the shipped example config parses", "[nightly][config]") {
  fs::path example = fs::path(ESXMIRROR_FIXTURES) / ".." / ".." / "examples" / "esxmirror.toml";
  REQUIRE(fs::exists(example));
  ProcessResult r = run_esxmirror({"config", "show", "--config", example.string()});
  INFO(r.all());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("dest = '/srv/esx-mirror'") != std::string::npos);
  CHECK(r.err.empty());
}

// ---------------------------------------------------------------------------------------------------
// 3. Report and metrics

TEST_CASE("the report option writes the run as JSON: ids, times, exit code, and every patch's outcome",
          "[nightly][report]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  f.server.set_fault(site.bundle_path("ESX-1000039"), not_found());
  fs::path report_file = f.tmp / "reports" / "last-run.json";
  fs::create_directories(report_file.parent_path());
  std::int64_t before = unix_now();
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--report", report_file.string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 1);
  json report = json::parse(slurp(report_file));
  INFO(report.dump(2));

  CHECK(report["run_id"].is_number_integer());
  CHECK(report["run_id"].get<std::int64_t>() >= 1);
  const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  CHECK(std::regex_match(report["started_at"].get<std::string>(), iso));
  CHECK(std::regex_match(report["finished_at"].get<std::string>(), iso));
  CHECK(report["started_at"].get<std::string>() <= report["finished_at"].get<std::string>());
  CHECK(report["exit_code"] == 1);
  CHECK(report["outcome"] == "partial");
  CHECK(report["dry_run"] == false);
  CHECK(report["seconds"].get<double>() >= 0);
  CHECK(report["seconds"].get<double>() < 60);
  CHECK(report["counts"]["placed"] == 4);
  CHECK(report["counts"]["failed"] == 1);
  CHECK(report["counts"]["skipped"] == 0);
  CHECK(report["counts"]["deferred"] == 0);

  REQUIRE(report["patches"].size() == k301.size());
  std::uint64_t total = 0;
  for (const json& p : report["patches"]) {
    std::string id = p["id"];
    INFO(id);
    CHECK(p["versions"] == json::array({"3.0.1"}));
    CHECK(p["seconds"].get<double>() >= 0);
    CHECK(p["url"].get<std::string>().find(".tgz") != std::string::npos);
    if (id == "ESX-1000039") {
      CHECK(p["outcome"] == "failed");
      CHECK(p["reason"].get<std::string>().find("404") != std::string::npos);
      CHECK(p["path"].is_null());
    } else {
      CHECK(p["outcome"] == "placed");
      CHECK(p["reason"].is_null());
      std::string path = p["path"];
      CHECK(path == f.bundle_dir("3.0.1", id).lexically_relative(f.dest).generic_string());
      CHECK(fs::is_directory(f.dest / path));
      CHECK(p["bytes"] == site.files().at(site.bundle_path(id)).size());
      total += p["bytes"].get<std::uint64_t>();
    }
  }
  CHECK(report["bytes_downloaded"] == total);
  CHECK(report["requests"].get<int>() > 0);
  CHECK(names_in(report_file.parent_path()) == std::set<std::string>{"last-run.json"});

  // The run id is the one `status` shows.
  json status = json::parse(f.command("status", {"--json"}).out);
  CHECK(status["runs"][0]["id"] == report["run_id"]);
  CHECK(unix_now() >= before);
}

TEST_CASE("a report to - writes the JSON report to stdout and nothing else", "[nightly][report]") {
  MirrorFixture f;
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--report", "-"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  json report;
  REQUIRE_NOTHROW(report = json::parse(r.out));
  CHECK(report["exit_code"] == 0);
  CHECK(report["outcome"] == "ok");
  CHECK(report["counts"]["placed"] == static_cast<int>(k301.size()));
  CHECK(ids_of(report["patches"]) == std::set<std::string>(k301.begin(), k301.end()));
}

TEST_CASE(
    "the metrics option writes a Prometheus textfile: last run, last success, exit code, bundles, bytes, duration",
    "[nightly][metrics]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  f.server.set_fault(site.bundle_path("ESX-1000039"), not_found());
  fs::path dir = f.tmp / "textfile_collector";
  fs::create_directories(dir);
  fs::path prom = dir / "esxmirror.prom";

  std::int64_t before = unix_now();
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--metrics", prom.string()});
  std::int64_t after = unix_now();
  INFO(r.all());
  REQUIRE(r.exit_code == 1);
  std::string text = slurp(prom);
  INFO(text);
  auto m = parse_metrics(text);
  CHECK(number(m, "esxmirror_last_run_timestamp_seconds") >= static_cast<double>(before));
  CHECK(number(m, "esxmirror_last_run_timestamp_seconds") <= static_cast<double>(after));
  CHECK(number(m, "esxmirror_last_success_timestamp_seconds") == 0);  // no run has exited 0 yet
  CHECK(number(m, "esxmirror_last_exit_code") == 1);
  CHECK(number(m, "esxmirror_bundles{state=\"placed\"}") == 4);
  CHECK(number(m, "esxmirror_bundles{state=\"failed\"}") == 1);
  std::uint64_t placed_bytes = 0;
  for (const std::string& id : k301) {
    if (id != "ESX-1000039") placed_bytes += site.files().at(site.bundle_path(id)).size();
  }
  CHECK(number(m, "esxmirror_last_run_downloaded_bytes") == static_cast<double>(placed_bytes));
  CHECK(number(m, "esxmirror_last_run_duration_seconds") > 0);
  CHECK(number(m, "esxmirror_last_run_duration_seconds") < 60);
  CHECK(names_in(dir) == std::set<std::string>{"esxmirror.prom"});  // no temp file left beside it

  // The fault is fixed: the next run succeeds and says when.
  f.server.clear_faults();
  before = unix_now();
  r = f.sync({"--esx-version", "3.0.1", "--metrics", prom.string()});
  after = unix_now();
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  m = parse_metrics(slurp(prom));
  CHECK(number(m, "esxmirror_last_success_timestamp_seconds") >= static_cast<double>(before));
  CHECK(number(m, "esxmirror_last_success_timestamp_seconds") <= static_cast<double>(after));
  CHECK(number(m, "esxmirror_last_exit_code") == 0);
  CHECK(number(m, "esxmirror_bundles{state=\"placed\"}") == 5);
  CHECK(number(m, "esxmirror_bundles{state=\"failed\"}") == 0);
  CHECK(number(m, "esxmirror_last_run_downloaded_bytes") ==
        static_cast<double>(site.files().at(site.bundle_path("ESX-1000039")).size()));
  CHECK(names_in(dir) == std::set<std::string>{"esxmirror.prom"});

  // A later failing run keeps the last success time.
  std::int64_t success = static_cast<std::int64_t>(number(m, "esxmirror_last_success_timestamp_seconds"));
  f.server.set_fault(SampleSite::index_path(), not_found());
  r = f.sync({"--esx-version", "3.0.1", "--metrics", prom.string()});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  m = parse_metrics(slurp(prom));
  CHECK(number(m, "esxmirror_last_exit_code") == 4);
  CHECK(number(m, "esxmirror_last_success_timestamp_seconds") == static_cast<double>(success));
}

TEST_CASE("a run refused before it starts (damaged state) still writes its report and metrics",
          "[nightly][metrics][report]") {
  MirrorFixture f;
  fs::path prom = f.tmp / "esxmirror.prom";
  fs::path report_file = f.tmp / "report.json";
  REQUIRE(f.sync({"--esx-version", "3.0.1", "--metrics", prom.string()}).exit_code == 0);
  double success = number(parse_metrics(slurp(prom)), "esxmirror_last_success_timestamp_seconds");
  REQUIRE(success > 0);

  fs::path db = f.dest / ".esxmirror" / "state.db";
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(db.string() + suffix);
  write(db, std::string(16384, 'x'));
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--metrics", prom.string(), "--report", report_file.string()});
  INFO(r.all());
  CHECK(r.exit_code == 5);
  CHECK(r.err.find(db.string()) != std::string::npos);
  // Monitoring must see this run's failure, not the previous run's success...
  auto m = parse_metrics(slurp(prom));
  CHECK(number(m, "esxmirror_last_exit_code") == 5);
  // ...while the last success stays when it was.
  CHECK(number(m, "esxmirror_last_success_timestamp_seconds") == success);
  json report = json::parse(slurp(report_file));
  CHECK(report["exit_code"] == 5);
  CHECK(report["outcome"] == "failed");
  CHECK(report["message"].get<std::string>().find(db.string()) != std::string::npos);
  CHECK(report["patches"].empty());
  CHECK(names_in(f.tmp.path()).count("esxmirror.prom") == 1);
}

// ---------------------------------------------------------------------------------------------------
// 4. list, status, verify, retry

TEST_CASE("list shows the catalog as a table and as JSON, filtered by version and state", "[nightly][list]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  f.server.set_fault(site.bundle_path("ESX-1000039"), not_found());
  REQUIRE(f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"}).exit_code == 1);

  ProcessResult table = f.command("list");
  INFO(table.all());
  REQUIRE(table.exit_code == 0);
  std::istringstream lines(table.out);
  std::string header;
  std::getline(lines, header);
  for (const char* column : {"ID", "VERSIONS", "DATE", "CLASS", "STATE", "PATH"}) {
    CHECK(header.find(column) != std::string::npos);
  }
  std::map<std::string, std::string> rows;
  for (std::string line; std::getline(lines, line);) rows[line.substr(0, line.find(' '))] = line;
  REQUIRE(rows.count("ESX-1000070"));
  CHECK(std::regex_search(rows["ESX-1000070"],
                          std::regex(R"(3\.0\.1\s+2007-04-12\s+Security\s+placed\s+3\.0\.1/2007-04-12_ESX-1000070)")));
  CHECK(std::regex_search(rows["ESX-1001724"], std::regex(R"(3\.0\.1,3\.0\.2\s+2007-08-14)")));
  CHECK(std::regex_search(rows["ESX-1000039"], std::regex(R"(failed\s+-)")));
  CHECK(std::regex_search(rows["ESX-1002425"], std::regex(R"(undated\s+.*3\.0\.2/undated_ESX-1002425)")));
  CHECK(std::regex_search(rows["ESX-1003176"], std::regex(R"(3\.0\.2\s+2007-12-20\s+General\s+no-bundle\s+-)")));

  ProcessResult all = f.command("list", {"--json"});
  REQUIRE(all.exit_code == 0);
  json list = json::parse(all.out);
  std::set<std::string> every;
  for (const SamplePatch& p : site.patches()) every.insert(p.id);  // KB notes too: the vendor's notes are listed
  CHECK(ids_of(list) == every);
  for (const json& item : list) {
    std::string id = item["id"];
    INFO(id);
    const SamplePatch& p = site.patch(id);
    if (p.kb_note) {
      CHECK(item["state"] == "no-bundle");
      CHECK(item["path"].is_null());
      CHECK(item["download_url"] == "");
      CHECK(item["page_url"] == f.server.url(site.page_path(id)));
    }
    CHECK(item["versions"] == json(p.versions));
    if (p.iso_date.empty()) {
      CHECK(item["release_date"].is_null());
    } else {
      CHECK(item["release_date"] == p.iso_date);
    }
    CHECK(item["classification"] == p.classification);
  }

  json v301 = json::parse(f.command("list", {"--json", "--esx-version", "3.0.1"}).out);
  CHECK(ids_of(v301) == std::set<std::string>(k301.begin(), k301.end()));  // not 3.0.10, not 3.0.1a
  for (const json& item : v301) {
    INFO(item.dump());
    if (item["id"] == "ESX-1000039") {
      CHECK(item["state"] == "failed");
      CHECK(item["path"].is_null());
      CHECK(item["last_error"].get<std::string>().find("404") != std::string::npos);
    } else {
      CHECK(item["state"] == "placed");
      CHECK(item["path"] == f.bundle_dir("3.0.1", item["id"]).lexically_relative(f.dest).generic_string());
      CHECK(item["md5"] == site.md5_of(item["id"]));
      CHECK(item["sha256"].get<std::string>().size() == 64);
    }
  }
  json shared = json::parse(f.command("list", {"--json", "--esx-version", "3.0.2", "--state-filter", "placed"}).out);
  CHECK(ids_of(shared) == std::set<std::string>(k302.begin(), k302.end()));
  for (const json& item : shared) {
    if (item["id"] == "ESX-1001724") {
      CHECK(item["placements"]["3.0.1"] == "3.0.1/2007-08-14_ESX-1001724");
      CHECK(item["placements"]["3.0.2"] == "3.0.2/2007-08-14_ESX-1001724");
    }
  }
  json failed = json::parse(f.command("list", {"--json", "--state-filter", "failed"}).out);
  CHECK(ids_of(failed) == std::set<std::string>{"ESX-1000039"});
  json notes = json::parse(f.command("list", {"--json", "--state-filter", "no-bundle"}).out);
  CHECK(ids_of(notes) == std::set<std::string>{"ESX-1003176"});

  ProcessResult bad = f.command("list", {"--state-filter", "broken"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("broken") != std::string::npos);
  CHECK(bad.err.find("no-bundle") != std::string::npos);
  CHECK(bad.out.empty());
}

TEST_CASE("list and status on a mirror never synced say to run sync first", "[nightly][list]") {
  MirrorFixture f;
  for (const char* command : {"list", "status", "verify"}) {
    ProcessResult r = f.command(command);
    INFO(command << ": " << r.all());
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("sync") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(f.dest / ".esxmirror" / "state.db"));
}

TEST_CASE("status shows the last runs and each failed patch with its error and when it is retried",
          "[nightly][status]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  f.server.set_fault(site.bundle_path("ESX-1002087"), not_found());
  REQUIRE(f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"}).exit_code == 1);

  ProcessResult r = f.command("status");
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Last runs") != std::string::npos);
  CHECK(std::regex_search(r.out, std::regex(R"(#2 .*partial\s+exit 1)")));
  CHECK(std::regex_search(r.out, std::regex(R"(#1 .*ok\s+exit 0\s+placed 5)")));
  CHECK(std::regex_search(r.out, std::regex(R"(ESX-1002087\s+1 failure\(s\), due on the next run: .*404)")));
  CHECK(r.out.find("ESX-1000039") == std::string::npos);

  json j = json::parse(f.command("status", {"--json"}).out);
  REQUIRE(j["runs"].size() == 2);
  CHECK(j["runs"][0]["exit_code"] == 1);
  CHECK(j["runs"][0]["failed"] == 1);
  REQUIRE(j["failed"].size() == 1);
  CHECK(j["failed"][0]["id"] == "ESX-1002087");
  CHECK(j["failed"][0]["due"] == true);
  CHECK(j["failed"][0]["last_error"].get<std::string>().find("404") != std::string::npos);
}

TEST_CASE("verify catches a flipped byte and a deleted file, and --repair fetches the bundle again",
          "[nightly][verify]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  REQUIRE(f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"}).exit_code == 0);
  ProcessResult clean = f.command("verify");
  INFO(clean.all());
  REQUIRE(clean.exit_code == 0);

  // One flipped byte in a placed file: same size, other content.
  std::string flipped_rel = first_file(site, "ESX-1000039");
  fs::path flipped = f.bundle_dir("3.0.1", "ESX-1000039") / flipped_rel;
  std::string bytes = slurp(flipped);
  REQUIRE(bytes.size() > 10);
  bytes[bytes.size() / 2] ^= 0x01;
  write(flipped, bytes);
  // A file deleted from a shared bundle.
  std::string deleted_rel = first_file(site, "ESX-1001724", 1);
  fs::remove(f.bundle_dir("3.0.1", "ESX-1001724") / deleted_rel);

  ProcessResult damaged = f.command("verify");
  INFO(damaged.all());
  CHECK(damaged.exit_code == 1);
  const std::string flipped_shown = "3.0.1/2007-03-29_ESX-1000039/" + flipped_rel;
  const std::string deleted_shown = "3.0.1/2007-08-14_ESX-1001724/" + deleted_rel;
  CHECK(damaged.out.find("ESX-1000039: changed: " + flipped_shown) != std::string::npos);
  CHECK(damaged.out.find("ESX-1001724: missing: " + deleted_shown) != std::string::npos);
  CHECK(damaged.out.find("ESX-1000070") == std::string::npos);
  CHECK(damaged.out.find("--repair") != std::string::npos);
  f.server.reset_hits();

  ProcessResult repaired = f.command("verify", {"--repair"});
  INFO(repaired.all());
  CHECK(repaired.exit_code == 0);
  CHECK(f.server.body_count(site.bundle_path("ESX-1000039")) == 1);
  CHECK(f.server.body_count(site.bundle_path("ESX-1001724")) == 1);
  CHECK(f.server.body_count(site.bundle_path("ESX-1000070")) == 0);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000039"));
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1001724"));
  CHECK(f.bundle_matches_site("3.0.2", "ESX-1001724"));  // the link still leads to it
  CHECK(fs::is_symlink(f.dest / "3.0.2" / "2007-08-14_ESX-1001724"));

  ProcessResult after = f.command("verify");
  INFO(after.all());
  CHECK(after.exit_code == 0);

  // A whole bundle directory removed by hand is reported missing too.
  fs::remove_all(f.bundle_dir("3.0.1", "ESX-1000070"));
  ProcessResult gone = f.command("verify");
  CHECK(gone.exit_code == 1);
  CHECK(gone.out.find("ESX-1000070") != std::string::npos);
  CHECK(gone.out.find("missing") != std::string::npos);
}

TEST_CASE("a failing patch waits out its backoff, and retry ID makes it due and the next sync fetches it",
          "[nightly][retry][backoff]") {
  MirrorFixture f;
  write(f.config,
        "retry_base_delay_ms = 20\nretry_max_delay_ms = 200\nfailures_before_backoff = 0\n"
        "failure_backoff_hours = 23\n");
  SampleSite site = f.server.site();
  const std::string bundle = site.bundle_path("ESX-1000050");
  f.server.set_fault(bundle, not_found());

  ProcessResult first = f.sync({"--esx-version", "3.0.1"});
  INFO(first.all());
  REQUIRE(first.exit_code == 1);
  REQUIRE(f.server.count(bundle) == 1);

  // Backoff: the next run does not ask for it, and says so.
  f.server.reset_hits();
  fs::path report_file = f.tmp / "report.json";
  ProcessResult second = f.sync({"--esx-version", "3.0.1", "--report", report_file.string()});
  INFO(second.all());
  CHECK(second.exit_code == 1);
  CHECK(f.server.count(bundle) == 0);
  CHECK(second.err.find("ESX-1000050") != std::string::npos);
  json report = json::parse(slurp(report_file));
  for (const json& p : report["patches"]) {
    if (p["id"] == "ESX-1000050") {
      CHECK(p["outcome"] == "deferred");
    } else {
      CHECK(p["outcome"] == "skipped");
    }
  }
  CHECK(report["counts"]["deferred"] == 1);

  ProcessResult status = f.command("status");
  INFO(status.all());
  CHECK(std::regex_search(
      status.out,
      std::regex(R"(ESX-1000050\s+1 failure\(s\), next retry after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: .*404)")));
  json status_json = json::parse(f.command("status", {"--json"}).out);
  REQUIRE(status_json["failed"].size() == 1);
  CHECK(status_json["failed"][0]["due"] == false);

  // Unknown ids and a missing argument are usage errors that change nothing.
  ProcessResult unknown = f.command("retry", {"ESX-0000001"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("ESX-0000001") != std::string::npos);
  CHECK(f.command("retry").exit_code == 2);
  CHECK(json::parse(f.command("status", {"--json"}).out)["failed"][0]["due"] == false);

  ProcessResult retry = f.command("retry", {"ESX-1000050"});
  INFO(retry.all());
  REQUIRE(retry.exit_code == 0);
  CHECK(retry.out.find("ESX-1000050") != std::string::npos);
  CHECK(json::parse(f.command("status", {"--json"}).out)["failed"][0]["due"] == true);

  f.server.clear_faults();
  f.server.reset_hits();
  ProcessResult third = f.sync({"--esx-version", "3.0.1"});
  INFO(third.all());
  CHECK(third.exit_code == 0);
  CHECK(f.server.body_count(bundle) == 1);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000050"));
  CHECK(json::parse(f.command("status", {"--json"}).out)["failed"].empty());
}

TEST_CASE("a placed bundle whose replacement keeps failing keeps its old copy and waits out its backoff",
          "[nightly][retry][backoff]") {
  MirrorFixture f;
  write(f.config, "retry_base_delay_ms = 20\nretry_max_delay_ms = 200\nfailures_before_backoff = 0\n");
  SampleSite site = f.server.site();
  const std::string bundle = site.bundle_path("ESX-1000070");
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);

  // The page now promises other bytes than the server sends: the replacement fails its md5 check.
  f.set_page_md5("ESX-1000070", "0123456789abcdef0123456789abcdef");
  ProcessResult first = f.sync({"--esx-version", "3.0.1"});
  INFO(first.all());
  REQUIRE(first.exit_code == 1);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000070"));  // the old copy is intact and still served
  CHECK(ids_of(json::parse(slurp(f.dest / "manifest.json"))["versions"]["3.0.1"]).count("ESX-1000070") == 1);

  f.server.reset_hits();
  ProcessResult second = f.sync({"--esx-version", "3.0.1"});
  INFO(second.all());
  CHECK(second.exit_code == 1);
  CHECK(f.server.count(bundle) == 0);  // not fetched again every night
  ProcessResult status = f.command("status");
  CHECK(std::regex_search(status.out, std::regex(R"(ESX-1000070\s+1 failure\(s\), next retry after .*md5)")));

  REQUIRE(f.command("retry", {"--all-failed"}).exit_code == 0);
  f.server.reset_hits();
  ProcessResult third = f.sync({"--esx-version", "3.0.1"});
  INFO(third.all());
  CHECK(third.exit_code == 1);
  CHECK(f.server.body_count(bundle) >= 1);  // tried again at once after `retry`
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000070"));
}

TEST_CASE("retry --all-failed makes every failed patch due", "[nightly][retry][backoff]") {
  MirrorFixture f;
  write(f.config, "retry_base_delay_ms = 20\nretry_max_delay_ms = 200\nfailures_before_backoff = 0\n");
  SampleSite site = f.server.site();
  f.server.set_fault(site.bundle_path("ESX-1000039"), not_found());
  f.server.set_fault(site.bundle_path("ESX-1000070"), not_found());
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 1);
  f.server.reset_hits();
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 1);
  CHECK(f.server.count(site.bundle_path("ESX-1000039")) == 0);
  CHECK(f.server.count(site.bundle_path("ESX-1000070")) == 0);

  ProcessResult retry = f.command("retry", {"--all-failed"});
  INFO(retry.all());
  REQUIRE(retry.exit_code == 0);
  CHECK(retry.out.find("2 patch(es)") != std::string::npos);
  CHECK(f.command("retry", {"--all-failed", "ESX-1000039"}).exit_code == 2);

  f.server.clear_faults();
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 0);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
}

// ---------------------------------------------------------------------------------------------------
// 5. Published index

TEST_CASE("index.html and manifest.json list every placed bundle per version, links included, and nothing else",
          "[nightly][index]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  f.server.set_fault(site.bundle_path("ESX-1000050"), not_found());
  f.set_page_md5("ESX-1002087", "0123456789abcdef0123456789abcdef");
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  REQUIRE(r.exit_code == 1);

  json manifest = json::parse(slurp(f.dest / "manifest.json"));
  INFO(manifest.dump(2));
  CHECK(manifest["generator"] == "esxmirror");
  REQUIRE(manifest["versions"].size() == 2);
  const std::map<std::string, std::set<std::string>> expected = {
      {"3.0.1", {"ESX-1000039", "ESX-1000070", "ESX-1001724", "ESX-1002082"}},
      {"3.0.2", {"ESX-1001724", "ESX-1002082", "ESX-1002424", "ESX-1002425"}}};
  for (const auto& [version, ids] : expected) {
    INFO(version);
    CHECK(ids_of(manifest["versions"][version]) == ids);
    for (const json& item : manifest["versions"][version]) {
      std::string id = item["id"];
      INFO(id);
      std::string path = item["path"];
      CHECK(path == f.bundle_dir(version, id).lexically_relative(f.dest).generic_string());
      CHECK(fs::is_directory(f.dest / path));
      CHECK(item["md5"] == site.md5_of(id));
      CHECK(item["size"] == site.files().at(site.bundle_path(id)).size());
      CHECK(item["sha256"].get<std::string>().size() == 64);
      bool shared = id == "ESX-1001724" || id == "ESX-1002082";
      if (shared && version == "3.0.2") {
        CHECK(item["link_to"] == f.bundle_dir("3.0.1", id).lexically_relative(f.dest).generic_string());
      } else {
        CHECK(item["link_to"].is_null());
      }
    }
  }

  std::string html = slurp(f.dest / "index.html");
  for (const auto& [version, ids] : expected) {
    CHECK(html.find("ESX " + version) != std::string::npos);
    for (const std::string& id : ids) {
      INFO(id);
      CHECK(html.find("href=\"" + f.bundle_dir(version, id).lexically_relative(f.dest).generic_string() + "/\"") !=
            std::string::npos);
      CHECK(html.find(site.md5_of(id)) != std::string::npos);
    }
  }
  for (const char* absent : {"ESX-1000050", "ESX-1002087", "ESX-1000100", ".esxmirror", "state.db"}) {
    INFO(absent);
    CHECK(html.find(absent) == std::string::npos);
    CHECK(slurp(f.dest / "manifest.json").find(absent) == std::string::npos);
  }
  // The KB note (a page without a bundle) is shown under its version, linked to the vendor's page, and is
  // no bundle of the manifest.
  const std::size_t notes = html.find("<h3>Notes without a download (ESX 3.0.2)</h3>");
  REQUIRE(notes != std::string::npos);
  CHECK(html.find("<a href=\"" + f.server.url(site.page_path("ESX-1003176")) + "\">ESX-1003176</a>", notes) !=
        std::string::npos);
  CHECK(html.find("2007-12-20", notes) != std::string::npos);
  CHECK(html.find("ESX-1003176") > html.find("<h2>ESX 3.0.2</h2>"));
  // In the manifest it is a note of its version (what a downstream mirror shows), never a bundle.
  CHECK(manifest["notes"]["3.0.2"].size() == 1);
  CHECK(manifest["notes"]["3.0.2"][0]["id"] == "ESX-1003176");
  CHECK(manifest["notes"]["3.0.2"][0]["page"] == f.server.url(site.page_path("ESX-1003176")));
  CHECK(ids_of(manifest["versions"]["3.0.2"]).count("ESX-1003176") == 0);
  // Written by rename: no temporary file is left in dest.
  CHECK(names_in(f.dest) == std::set<std::string>{".esxmirror", "3.0.1", "3.0.2", "index.html", "manifest.json"});
}

TEST_CASE("a bundle removed by hand whose fetch then fails is not listed in the index", "[nightly][index]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  fs::remove_all(f.bundle_dir("3.0.1", "ESX-1000039"));
  f.server.set_fault(site.bundle_path("ESX-1000039"), not_found());
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  json manifest = json::parse(slurp(f.dest / "manifest.json"));
  CHECK(ids_of(manifest["versions"]["3.0.1"]) ==
        std::set<std::string>{"ESX-1000050", "ESX-1000070", "ESX-1001724", "ESX-1002082"});
  CHECK(slurp(f.dest / "index.html").find("ESX-1000039") == std::string::npos);
  json failed = json::parse(f.command("list", {"--json", "--state-filter", "failed"}).out);
  CHECK(ids_of(failed) == std::set<std::string>{"ESX-1000039"});

  f.server.clear_faults();
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000039"));
  manifest = json::parse(slurp(f.dest / "manifest.json"));
  CHECK(manifest["versions"]["3.0.1"].size() == k301.size());
}

TEST_CASE("the index is rewritten each run, and an unchanged run keeps the same entries", "[nightly][index]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  json first = json::parse(slurp(f.dest / "manifest.json"));
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  json second = json::parse(slurp(f.dest / "manifest.json"));
  CHECK(first["versions"] == second["versions"]);
  CHECK(names_in(f.dest) == std::set<std::string>{".esxmirror", "3.0.1", "index.html", "manifest.json"});
}

TEST_CASE("at -vv a run says how long each of its passes took, and at the default verbosity it does not",
          "[nightly][verbose]") {
  MirrorFixture f;
  ProcessResult quiet = f.sync({"--esx-version", "3.0.1"});
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.all().find("pass ") == std::string::npos);

  ProcessResult verbose = f.sync({"--esx-version", "3.0.1", "-vv"});
  INFO(verbose.all());
  REQUIRE(verbose.exit_code == 0);
  const std::vector<std::string> passes = {"clean_staging", "convert_layout", "mirror " + f.server.index_url(),
                                           "whats_new", "publish_index"};
  for (const std::string& pass : passes) {
    INFO(pass);
    CHECK(verbose.err.find("pass " + pass + ": ") != std::string::npos);
  }
}
