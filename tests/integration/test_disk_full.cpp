// Issue 4.3: a full disk. The mirror lives on a small tmpfs the test mounts (root only; skipped with a
// reason elsewhere): the run stops with exit 5 and a clear message, nothing is half-placed, the state
// database stays intact, and a later run with room completes the mirror.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

// A tmpfs mounted for the test's lifetime; lazily unmounted when it goes (before its directory is removed).
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir_);
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool resize(const std::string& size) {
    const std::string options = "size=" + size;
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// `PRAGMA integrity_check` through SQLite itself, read-only: "ok" when the database is sound.
std::string integrity(const fs::path& db_path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) = values[0] ? values[0] : "";
          return 0;
        },
        &result, nullptr);
  }
  sqlite3_close(db);
  return result;
}

std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[entry.path().lexically_relative(dir).generic_string()] = slurp(entry.path());
  }
  return files;
}

std::map<std::string, std::string> expected_files(const SampleSite& site, const std::string& id) {
  std::map<std::string, std::string> files;
  for (const ArchiveEntry& e : site.placed_contents(id)) {
    if (e.type == ArchiveEntry::Type::file) files[e.path] = e.content;
  }
  return files;
}

bool running_as_root() { return ::geteuid() == 0; }

}  // namespace

TEST_CASE(
    "disk full: the run stops with exit 5 and a clear message, nothing half-placed, the state intact, and a "
    "later run with room completes the mirror",
    "[diskfull]") {
  const std::string version = "3.0.1";
  // Six bundles of ~400 KiB on a 1.5 MiB filesystem: some fit, not all (with their unpacked copies).
  MirrorFixture f(SampleSite::generated(6, 400 * 1024, version));
  if (!running_as_root()) {
    WARN("skipped: mounting a tmpfs needs root (this test runs as uid " << ::geteuid() << ")");
    return;
  }
  TmpfsMount small(f.tmp / "small", "1536k");
  if (!small.mounted()) {
    WARN("skipped: cannot mount a tmpfs here (" << small.error() << "); run as root on a machine that allows it");
    return;
  }
  f.dest = f.tmp / "small" / "mirror";
  SampleSite site = f.server.site();
  std::map<std::string, std::map<std::string, std::string>> expected;
  for (const SamplePatch& p : site.patches()) expected[p.id] = expected_files(site, p.id);
  std::string jobs;
  SECTION("one download at a time: the disk fills while unpacking") { jobs = "1"; }
  SECTION("four downloads at a time") { jobs = "4"; }
  SECTION("a bundle larger than the whole filesystem: the disk fills while downloading") {
    jobs = "2";
    const std::string id = site.patches().front().id;
    std::vector<ArchiveEntry> entries = bundle_entries(id, 2u << 20, 77);
    f.replace_bundle(id, build_archive(entries, ArchiveFormat::tar_gz, 0));
    expected[id].clear();
    for (const ArchiveEntry& e : entries) {
      if (e.type == ArchiveEntry::Type::file) expected[id][placed_path(id, e.path)] = e.content;
    }
  }

  ProcessResult r = f.sync({"--esx-version", version, "--jobs", jobs});
  INFO(r.all());
  CHECK(r.exit_code == 5);
  std::string err = r.err;
  for (char& c : err) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(has(err, "esxmirror: error: "));
  CHECK(has(err, "no space left on device"));
  CHECK(has(err, "free"));  // says what to do

  // Nothing half-placed: whatever is under a final name is a whole bundle; no temporary names served.
  std::size_t placed = 0;
  for (const SamplePatch& p : site.patches()) {
    fs::path dir = f.bundle_dir(version, p.id);
    if (!fs::exists(dir)) continue;
    INFO(p.id);
    CHECK(files_under(dir) == expected[p.id]);
    ++placed;
  }
  CHECK(placed < site.patches().size());
  for (const std::string& file : f.served_files()) {
    INFO(file);
    CHECK_FALSE(has(file, ".tmp-"));
    CHECK(file.find("/.") == std::string::npos);
    CHECK(file.rfind('.', 0) != 0);
  }

  // The state database is intact and readable by the other commands; what it says is placed is on disk.
  const fs::path db = f.dest / ".esxmirror" / "state.db";
  CHECK(integrity(db) == "ok");
  ProcessResult list = f.command("list", {"--json"});
  INFO(list.all());
  REQUIRE(list.exit_code == 0);
  for (const auto& entry : nlohmann::json::parse(list.out)) {
    if (entry.value("state", "") == "placed") CHECK(fs::exists(f.bundle_dir(version, entry["id"].get<std::string>())));
  }
  ProcessResult status = f.command("status");
  INFO(status.all());
  CHECK(status.exit_code == 0);

  // With room, the next run completes the mirror.
  REQUIRE(small.resize("64m"));
  ProcessResult again = f.sync({"--esx-version", version, "--jobs", jobs});
  INFO(again.all());
  REQUIRE(again.exit_code == 0);
  for (const SamplePatch& p : site.patches()) {
    INFO(p.id);
    CHECK(files_under(f.bundle_dir(version, p.id)) == expected[p.id]);
  }
  CHECK(integrity(db) == "ok");
  for (const auto& entry : fs::directory_iterator(f.dest / ".esxmirror" / "staging")) {
    FAIL_CHECK("left in staging: " << entry.path().filename().string());
  }
}
