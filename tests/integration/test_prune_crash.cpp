// Issue 12 §3: a prune SIGKILLed at any moment loses nothing that should stay, never leaves a bundle half
// there, never publishes a bundle that is not whole on disk, and the next run (a prune, or a sync with
// prune_after_sync) finishes the job without fetching anything again. SIGTERM stops it between bundles.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"
#include "support/state_sql.hpp"

using namespace esxmirror::testing;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using FileMap = std::map<std::string, std::string>;  // path inside the bundle directory -> bytes

const std::vector<std::string> kVersions = {"3.0.1", "3.0.2"};
constexpr int kPatches = 48;

// A line of 48 bundles, each superseding the one before; every fourth is for 3.0.2 too (a link there).
// All go but the newest (ESX-2000048) and the last shared one (ESX-2000045), which nothing newer covers
// under 3.0.2.
SampleSite chain_site() {
  SampleSite site = SampleSite::generated(kPatches, 6 * 1024, kVersions[0]);
  std::vector<SamplePatch> patches = site.patches();
  for (std::size_t i = 0; i < patches.size(); ++i) {
    SamplePatch p = patches[i];
    if (i % 4 == 0) p.versions = kVersions;
    if (i > 0) p.supersedes = {patches[i - 1].id};
    site.add_patch(p);
  }
  return site;
}

FileMap files_in(const fs::path& dir) {
  FileMap files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[entry.path().lexically_relative(dir).generic_string()] = slurp(entry.path());
  }
  return files;
}

struct Expected {
  std::map<std::string, FileMap> contents;                   // id -> what its directory holds
  std::map<std::string, std::vector<std::string>> versions;  // id -> versions it is placed under
  std::map<std::string, std::string> dir_name;               // id -> "<date>_<id>"
  std::set<std::string> kept;                                // what must stay
};

std::vector<std::string> args(const std::string& command, const fs::path& dest, const fs::path& config) {
  return {command, "--dest", dest.string(), "--config", config.string()};
}

std::set<std::string> manifest_ids(const fs::path& dest) {
  std::set<std::string> ids;
  if (!fs::exists(dest / "manifest.json")) return ids;
  json manifest = json::parse(slurp(dest / "manifest.json"));
  for (const auto& [version, bundles] : manifest["versions"].items()) {
    for (const json& b : bundles) ids.insert(b["id"].get<std::string>() + "@" + version);
  }
  return ids;
}

// At any moment: each bundle name is a whole bundle or gone (a dangling link is gone), nothing else is
// under a version, what must stay is whole, and the published index names only whole bundles.
void check_whole_or_gone(const fs::path& dest, const Expected& expected, const std::string& context) {
  INFO(context);
  std::map<std::string, std::string> id_of;
  for (const auto& [id, name] : expected.dir_name) id_of[name] = id;
  std::set<std::string> whole;
  for (const std::string& version : kVersions) {
    for (const auto& entry : fs::directory_iterator(dest / version)) {
      const std::string name = entry.path().filename().string();
      INFO(version << "/" << name);
      REQUIRE(id_of.count(name) == 1);                                          // no temporary or unknown name
      if (fs::is_symlink(entry.path()) && !fs::exists(entry.path())) continue;  // dangling: gone
      CHECK(files_in(entry.path()) == expected.contents.at(id_of[name]));
      whole.insert(id_of[name] + "@" + version);
    }
  }
  for (const std::string& id : expected.kept) {
    for (const std::string& version : expected.versions.at(id)) CHECK(whole.count(id + "@" + version) == 1);
  }
  for (const std::string& listed : manifest_ids(dest)) {
    INFO("the manifest lists " << listed);
    CHECK(whole.count(listed) == 1);
  }
}

// After the run that finishes the job: exactly what must stay, all of it published, nothing else.
void check_finished(const fs::path& dest, const Expected& expected) {
  std::set<std::string> want;
  for (const std::string& id : expected.kept) {
    for (const std::string& version : expected.versions.at(id)) want.insert(id + "@" + version);
  }
  std::set<std::string> present;
  for (const std::string& version : kVersions) {
    for (const auto& entry : fs::directory_iterator(dest / version)) {
      for (const auto& [id, name] : expected.dir_name) {
        if (name == entry.path().filename().string()) present.insert(id + "@" + version);
      }
    }
  }
  CHECK(present == want);
  CHECK(manifest_ids(dest) == want);
  const fs::path trash = dest / ".esxmirror" / "staging" / "prune";
  CHECK((!fs::exists(trash) || fs::is_empty(trash)));
  CHECK(run_sql(dest / ".esxmirror" / "state.db", "SELECT count(*) FROM bundles WHERE state = 'pruned'") ==
        std::to_string(kPatches - expected.kept.size()));
}

std::uint64_t env_seed() {
  const char* text = std::getenv("ESXMIRROR_CRASH_SEED");
  return text ? std::strtoull(text, nullptr, 10) : 20071008u;
}

}  // namespace

TEST_CASE(
    "crash safety of prune: SIGKILL or SIGTERM at random moments leaves every bundle whole or gone, and the "
    "next run finishes the job",
    "[prune][crash]") {
  MirrorFixture f(chain_site());
  const fs::path config = f.tmp / "prune.toml";
  std::ofstream(config) << "keep_superseded_days = 1\nprune_after_sync = true\n";
  const fs::path tmpl = f.tmp / "template";
  {
    std::vector<std::string> sync = args("sync", tmpl, f.config);
    sync.insert(sync.end(),
                {"--source", f.server.index_url(), "--esx-version", kVersions[0], "--esx-version", kVersions[1]});
    ProcessResult r = run_process(binary_path(), sync);
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
  }
  // Everything was placed ten days ago, as far as retention can tell.
  REQUIRE(run_sql(tmpl / ".esxmirror" / "state.db",
                  "UPDATE bundles SET placed_at = placed_at - 10 * 86400; "
                  "SELECT changes()") == std::to_string(kPatches));

  Expected expected;
  SampleSite site = f.server.site();
  for (const SamplePatch& p : site.patches()) {
    expected.versions[p.id] = p.versions;
    expected.dir_name[p.id] = p.iso_date + "_" + p.id;
    expected.contents[p.id] = files_in(tmpl / kVersions[0] / expected.dir_name[p.id]);
    REQUIRE(expected.contents[p.id].size() >= 3);
  }
  expected.kept = {site.patches()[kPatches - 1].id, site.patches()[44].id};

  // How long a whole prune takes here, so the kills spread over it.
  const fs::path timing = f.tmp / "timing";
  fs::copy(tmpl, timing, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const auto started = std::chrono::steady_clock::now();
  ProcessResult whole = run_process(binary_path(), args("prune", timing, config));
  const auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  INFO(whole.all());
  REQUIRE(whole.exit_code == 0);
  check_finished(timing, expected);

  const std::uint64_t seed = env_seed();
  std::cerr << "prune crash safety: seed " << seed << ", a whole prune takes " << full_ms << " ms\n";
  std::mt19937_64 random(seed);
  const fs::path logs = f.tmp / "logs";
  fs::create_directories(logs);
  int before_removal = 0, mid_removal = 0, after_removal = 0, finished_first = 0, stopped_cleanly = 0;
  const int wanted_mid = 12, attempts_allowed = 100;  // ~2 min under ASan at 20
  for (int attempt = 0; mid_removal < wanted_mid && attempt < attempts_allowed; ++attempt) {
    const fs::path dest = f.tmp / ("copy-" + std::to_string(attempt));
    fs::copy(tmpl, dest, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    const auto delay = std::chrono::milliseconds(random() % static_cast<std::uint64_t>(full_ms + 10));
    // Every third time SIGTERM: the prune stops between two bundles, exit 130, and says so.
    const int sig = attempt % 3 == 2 ? SIGTERM : SIGKILL;
    Child child(binary_path(), args("prune", dest, config), logs);
    std::this_thread::sleep_for(delay);
    child.signal(sig);
    ProcessResult r = child.wait();
    const std::string context = "attempt " + std::to_string(attempt) + ", signal " + std::to_string(sig) + " after " +
                                std::to_string(delay.count()) + " ms (seed " + std::to_string(seed) + ")";
    check_whole_or_gone(dest, expected, context);
    int present = 0;
    for (const auto& [id, name] : expected.dir_name) {
      if (!expected.kept.count(id) && fs::exists(dest / kVersions[0] / name)) ++present;
    }
    if (sig == SIGTERM) {
      INFO(context << ": " << r.all());
      CHECK((r.exit_code == 0 || r.exit_code == 130 || r.signal == SIGTERM));  // done, stopped, or not started
      if (r.exit_code == 130) {
        ++stopped_cleanly;
        CHECK(has(r.err,
                  "esxmirror: error: interrupted: what was decided and not removed yet is removed by the "
                  "next `esxmirror prune`"));
      }
    } else if (r.signal != SIGKILL) {
      ++finished_first;
    } else if (present == kPatches - static_cast<int>(expected.kept.size())) {
      ++before_removal;
    } else if (present > 0) {
      ++mid_removal;
    } else {
      ++after_removal;
    }

    // The next run finishes: a prune, or every other time a sync (which must fetch nothing again).
    f.server.reset_hits();
    std::vector<std::string> next = args(attempt % 2 ? "prune" : "sync", dest, config);
    if (attempt % 2 == 0) {
      next.insert(next.end(),
                  {"--source", f.server.index_url(), "--esx-version", kVersions[0], "--esx-version", kVersions[1]});
    }
    ProcessResult finish = run_process(binary_path(), next);
    INFO(context << "; next run: " << finish.all());
    REQUIRE(finish.exit_code == 0);
    for (const Hit& hit : f.server.hits()) CHECK_FALSE(has(hit.path, ".tgz"));
    check_whole_or_gone(dest, expected, context + ", after the next run");
    check_finished(dest, expected);
    fs::remove_all(dest);
  }
  std::cerr << "prune crash safety: " << mid_removal << " kills mid-removal, " << before_removal
            << " before any bundle went, " << after_removal << " after the last, " << finished_first
            << " runs finished first; " << stopped_cleanly << " stopped by SIGTERM with exit 130\n";
  CHECK(mid_removal >= wanted_mid);
  CHECK(stopped_cleanly >= 1);
}
