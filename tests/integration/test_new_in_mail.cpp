// Issue 10 §5: what is new, in the nightly mail. After a sync that placed or replaced anything, one line
// per new legacy bundle or depot bulletin (critical and security first), then the summary; a night with
// nothing new stays one line; --report carries the same list, and `status --new [--since]` gives it again
// from the catalog. Against the real binary, the sample site and the sample depot.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/archive_builder.hpp"
#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

Strings lines_of(const std::string& text) {
  Strings lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool starts_with(const std::string& text, const std::string& head) { return text.rfind(head, 0) == 0; }

// The lines of a sync's stdout that list what is new ("new ..." / "replaced ...").
Strings new_lines(const std::string& out) {
  Strings found;
  for (const std::string& line : lines_of(out)) {
    if (starts_with(line, "new ") || starts_with(line, "replaced ")) found.push_back(line);
  }
  return found;
}

// The id column of a new-item line.
std::string id_of(const std::string& line) {
  std::istringstream in(line);
  std::string label, id;
  in >> label >> id;
  return id;
}

Strings ids_of(const Strings& lines) {
  Strings ids;
  for (const std::string& line : lines) ids.push_back(id_of(line));
  return ids;
}

Strings ids_of(const json& list) {
  Strings ids;
  for (const json& item : list) ids.push_back(item["id"].get<std::string>());
  return ids;
}

// 0 for a critical or security line, 1 for an important one, 2 for the rest (the third column).
int urgency(const std::string& line) {
  std::istringstream in(line);
  std::string label, id, level;
  in >> label >> id >> level;
  std::transform(level.begin(), level.end(), level.begin(), [](unsigned char c) { return std::tolower(c); });
  if (starts_with(level, "critical") || starts_with(level, "security") || level.find("/security") != std::string::npos)
    return 0;
  return starts_with(level, "important") ? 1 : 2;
}

// Critical/security first, then important, then the rest; newest release first within each.
void check_order(const Strings& lines) {
  for (std::size_t i = 1; i < lines.size(); ++i) {
    INFO(lines[i - 1] << "\n" << lines[i]);
    CHECK(urgency(lines[i - 1]) <= urgency(lines[i]));
  }
}

const SampleBulletin& bulletin(const SampleDepot& depot, const std::string& id) {
  for (const SampleRelease& release : depot.releases())
    for (const SampleBulletin& b : release.bulletins)
      if (b.id == id) return b;
  throw std::out_of_range("no bulletin " + id);
}

void sql(const fs::path& db_file, const std::string& statements) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_file.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// So that a run's start falls in a later second than the previous run's placements (times are seconds).
void next_second() { std::this_thread::sleep_for(std::chrono::milliseconds(1100)); }

}  // namespace

TEST_CASE(
    "mail: a legacy night lists each placed bundle, critical and security first, then the summary, and a night "
    "with nothing new stays one line",
    "[mail][legacy]") {
  MirrorFixture f;
  const SampleSite site = f.server.site();
  const fs::path report_file = f.tmp / "report.json";
  ProcessResult first = f.sync({"--esx-version", "3.0.1", "--report", report_file.string()});
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  const Strings lines = lines_of(first.out);
  REQUIRE(lines.size() == k301.size() + 1);
  CHECK(starts_with(lines.back(), "esxmirror: 5 placed, 0 replaced, 0 unchanged, 0 failed"));
  const Strings listed(lines.begin(), lines.end() - 1);
  CHECK(new_lines(first.out) == listed);
  // Critical and Security first, newest release first; then General.
  CHECK(ids_of(listed) == Strings{"ESX-1002082", "ESX-1000070", "ESX-1000039", "ESX-1001724", "ESX-1000050"});
  check_order(listed);
  for (const std::string& line : listed) {
    const SamplePatch& patch = site.patch(id_of(line));
    INFO(line);
    CHECK(std::regex_match(
        line, std::regex("new +" + patch.id + " +" + patch.classification + " +" + patch.iso_date + " +3\\.0\\.1 +-")));
  }

  // --report: the same list, in the same order, with the same facts.
  const json report = json::parse(slurp(report_file));
  REQUIRE(report["new"].is_array());
  CHECK(ids_of(report["new"]) == ids_of(listed));
  for (const json& item : report["new"]) {
    const SamplePatch& patch = site.patch(item["id"]);
    CHECK(item["classification"] == patch.classification);
    CHECK(item["release_date"] == patch.iso_date);
    CHECK(item["versions"] == Strings{"3.0.1"});
    CHECK(item["replaced"] == false);
    CHECK(item["source"] == "");
  }

  ProcessResult quiet_night = f.sync({"--esx-version", "3.0.1", "--report", report_file.string()});
  INFO(quiet_night.all());
  REQUIRE(quiet_night.exit_code == 0);
  CHECK(lines_of(quiet_night.out).size() == 1);
  CHECK(starts_with(quiet_night.out, "esxmirror: 0 placed, 0 replaced, 5 unchanged"));
  CHECK(json::parse(slurp(report_file))["new"].empty());

  // A bundle the vendor rebuilt (new bytes, new md5 on its page) is listed as replaced; one that supersedes
  // another says so.
  next_second();
  f.replace_bundle("ESX-1000050", build_archive(bundle_entries("ESX-1000050", 20000, 77)));
  ProcessResult replaced = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(replaced.all());
  REQUIRE(replaced.exit_code == 0);
  const Strings night = new_lines(replaced.out);
  const Strings night_ids = ids_of(night);
  CHECK(lines_of(replaced.out).size() == night.size() + 1);
  CHECK(std::set<std::string>(night_ids.begin(), night_ids.end()) ==
        std::set<std::string>{"ESX-1000050", "ESX-1002087", "ESX-1002424", "ESX-1002425"});
  check_order(night);
  for (const std::string& line : night) {
    INFO(line);
    if (id_of(line) == "ESX-1000050") CHECK(std::regex_match(line, std::regex("replaced +ESX-1000050 +General .*")));
    if (id_of(line) == "ESX-1002087") CHECK(std::regex_match(line, std::regex(".* 3\\.0\\.2 +supersedes ESX-1001724")));
    if (id_of(line) == "ESX-1002425") {
      CHECK(std::regex_match(line, std::regex("new +ESX-1002425 +General +undated .*")));
    }
  }
  CHECK(id_of(night.front()) == "ESX-1002424");  // the one Security bundle of the night

  // status --new: the last run's list, line for line.
  ProcessResult status = f.command("status", {"--new"});
  INFO(status.all());
  REQUIRE(status.exit_code == 0);
  CHECK(lines_of(status.out) == night);
}

TEST_CASE(
    "mail: a depot night lists each bulletin made available, with severity, category, date, versions and "
    "summary, and status --new --since gives the same list from the catalog",
    "[mail][depot]") {
  DepotFixture f;
  const fs::path report_file = f.tmp / "report.json";
  ProcessResult first = f.sync({"--esx-version", "8.0", "--report", report_file.string()});
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  SampleDepot depot = f.server.depot();
  const Strings first_bulletins = expected_bulletins(depot, {"8.0"});
  const Strings listed = new_lines(first.out);
  Strings sorted_ids = ids_of(listed);
  std::sort(sorted_ids.begin(), sorted_ids.end());
  CHECK(sorted_ids == first_bulletins);
  check_order(listed);
  CHECK(urgency(listed.front()) == 0);  // 8.0.2's critical security bulletin leads
  // The list, then the depot's line, then the summary.
  const Strings lines = lines_of(first.out);
  REQUIRE(lines.size() == listed.size() + 2);
  CHECK(Strings(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(listed.size())) == listed);
  CHECK(starts_with(lines[listed.size()], "esxmirror: depot main:"));
  for (const std::string& line : listed) {
    const SampleBulletin& b = bulletin(depot, id_of(line));
    INFO(line);
    std::string level = b.severity + "/" + b.category;
    CHECK(starts_with(line, "new "));
    CHECK(has(line, " " + level + " "));
    CHECK(has(line, " " + b.release_date + " "));
    CHECK(has(line, " main: " + b.summary));
    CHECK(has(line, " " + b.platform + " "));
  }
  CHECK(ids_of(json::parse(slurp(report_file))["new"]) == ids_of(listed));
  const json firsts = json::parse(slurp(report_file))["new"];
  for (const json& item : firsts) {
    const SampleBulletin& b = bulletin(depot, item["id"]);
    CHECK(item["source"] == "main");
    CHECK(item["classification"] == b.severity);
    CHECK(item["category"] == b.category);
    CHECK(item["summary"] == b.summary);
  }

  // Nothing new: no list.
  ProcessResult quiet_night = f.sync({"--esx-version", "8.0"});
  REQUIRE(quiet_night.exit_code == 0);
  CHECK(new_lines(quiet_night.out).empty());
  CHECK(lines_of(quiet_night.out).size() == 1);  // the summary: a depot that did nothing has no line of its own

  // An update release: only the bulletins it introduces.
  next_second();
  f.server.edit_depot("main", [](SampleDepot& d) { d.add_update_release("8.0", "8.0.4"); });
  depot = f.server.depot();
  ProcessResult update = f.sync({"--esx-version", "8.0", "--report", report_file.string()});
  INFO(update.all());
  REQUIRE(update.exit_code == 0);
  std::set<std::string> introduced;
  for (const SampleBulletin& b : depot.release("8.0.4").bulletins)
    if (!std::binary_search(first_bulletins.begin(), first_bulletins.end(), b.id)) introduced.insert(b.id);
  REQUIRE_FALSE(introduced.empty());
  const Strings night = new_lines(update.out);
  const Strings night_ids = ids_of(night);
  CHECK(std::set<std::string>(night_ids.begin(), night_ids.end()) == introduced);
  CHECK(night.size() == introduced.size());
  check_order(night);
  CHECK(ids_of(json::parse(slurp(report_file))["new"]) == ids_of(night));

  // status --new: by default the last run's list, line for line; --since widens it; JSON says the same.
  ProcessResult status = f.command("status", {"--new"});
  INFO(status.all());
  REQUIRE(status.exit_code == 0);
  CHECK(lines_of(status.out) == night);
  ProcessResult all = f.command("status", {"--new", "--since", "1970-01-01"});
  REQUIRE(all.exit_code == 0);
  CHECK(lines_of(all.out).size() == listed.size() + night.size());
  check_order(lines_of(all.out));
  ProcessResult as_json = f.command("status", {"--new", "--since", "2000-01-01T00:00:00Z", "--json"});
  REQUIRE(as_json.exit_code == 0);
  const json j = json::parse(as_json.out);
  CHECK(j["since"] == "2000-01-01T00:00:00Z");
  CHECK(ids_of(j["new"]) == ids_of(lines_of(all.out)));
  ProcessResult later = f.command("status", {"--new", "--since", "2200-01-01"});
  REQUIRE(later.exit_code == 0);
  CHECK(later.out == "nothing placed since 2200-01-01T00:00:00Z\n");

  ProcessResult bad = f.command("status", {"--new", "--since", "yesterday"});
  CHECK(bad.exit_code == 2);
  CHECK(has(bad.err, "--since yesterday is not a UTC date or time"));
  CHECK(f.command("status", {"--since", "2000-01-01"}).exit_code == 2);  // --since needs --new
}

TEST_CASE(
    "mail: a mirror upgraded from schema 4 lists nothing as new on its first night, and status --new "
    "still knows when everything was placed",
    "[mail][depot][legacy]") {
  DepotFixture f(SampleDepot::standard(small_vibs()), SampleSite::standard());
  const Strings args = {"--source", f.server.index_url(), "--esx-version", "8.0.3", "--esx-version", "3.0.1"};
  ProcessResult first = f.sync(args);
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  const Strings everything = new_lines(first.out);
  REQUIRE(everything.size() == expected_bulletins(f.server.depot(), {"8.0.3"}).size() + k301.size());

  // As the release before schema 5 left it: no first placed times at all.
  sql(f.dest / ".esxmirror" / "state.db",
      "ALTER TABLE bundles DROP COLUMN first_placed_at; ALTER TABLE depot_bulletins DROP COLUMN placed_at; "
      "PRAGMA user_version = 4;");
  ProcessResult upgraded = f.sync(args);
  INFO(upgraded.all());
  REQUIRE(upgraded.exit_code == 0);
  CHECK(new_lines(upgraded.out).empty());
  ProcessResult status = f.command("status", {"--new", "--since", "1970-01-01"});
  REQUIRE(status.exit_code == 0);
  Strings want = ids_of(everything), got = ids_of(lines_of(status.out));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  CHECK(got == want);
}

TEST_CASE("mail: -q keeps a good night silent, new bundles or not", "[mail][legacy]") {
  MirrorFixture f;
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "-q"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(r.all().empty());
  ProcessResult status = f.command("status", {"--new"});
  CHECK(lines_of(status.out).size() == k301.size());  // the list is still there to read
}
