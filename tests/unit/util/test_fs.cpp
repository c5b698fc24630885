// util/fs: atomic writes, whole-file reads, directory fsync, lexical containment.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "esxmirror/util/fs.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using namespace esxmirror::util;

using esxmirror::testing::TempDir;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("write_file_atomic creates a file with the given bytes", "[util][fs]") {
  TempDir tmp;
  const fs::path target = tmp.path() / "manifest.json";
  const std::string content("{\"a\":1}\n\0binary\xff", 17);
  write_file_atomic(target, content);
  CHECK(slurp(target) == content);
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"manifest.json"});
}

TEST_CASE("write_file_atomic replaces content and leaves no temporary file", "[util][fs]") {
  TempDir tmp;
  const fs::path target = tmp.path() / "index.html";
  write_file_atomic(target, std::string(100000, 'o'));
  write_file_atomic(target, "new");
  CHECK(slurp(target) == "new");
  write_file_atomic(target, "");
  CHECK(slurp(target).empty());
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"index.html"});
}

TEST_CASE("write_file_atomic gives a new file the usual permissions and keeps an existing file's", "[util][fs]") {
  TempDir tmp;
  const mode_t mask = ::umask(022);
  const fs::path fresh = tmp.path() / "fresh.html";
  write_file_atomic(fresh, "x");
  CHECK((fs::status(fresh).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
  ::umask(mask);

  const fs::path kept = tmp.path() / "kept.json";
  write_file_atomic(kept, "old");
  fs::permissions(kept, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  write_file_atomic(kept, "new");
  CHECK((fs::status(kept).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
}

TEST_CASE("write_file_atomic fails with a storage error naming the file", "[util][fs]") {
  TempDir tmp;
  const fs::path target = tmp.path() / "missing-dir" / "manifest.json";
  try {
    write_file_atomic(target, "x");
    FAIL("no error");
  } catch (const esxmirror::util::StorageError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("cannot write " + target.string() + ": "));
    CHECK_THAT(e.what(), Catch::Contains("No such file or directory"));
  }

  SECTION("a directory in the way is not replaced") {
    const fs::path dir = tmp.path() / "taken";
    fs::create_directories(dir / "inside");
    CHECK_THROWS_AS(write_file_atomic(dir, "x"), esxmirror::util::StorageError);
    CHECK(fs::is_directory(dir / "inside"));
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"taken"});
  }
}

TEST_CASE("read_file returns the whole file and names a missing one", "[util][fs]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "data.bin";
  std::string content(300000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
  write_file_atomic(file, content);
  CHECK(read_file(file) == content);

  const fs::path missing = tmp.path() / "nope.txt";
  CHECK_THROWS_WITH(read_file(missing), Catch::Contains(missing.string()) && Catch::Contains("No such file"));
  CHECK_THROWS_WITH(read_file(tmp.path()), Catch::Contains(tmp.path().string()));
}

TEST_CASE("fsync_dir syncs a directory and reports a missing one", "[util][fs]") {
  TempDir tmp;
  CHECK_NOTHROW(fsync_dir(tmp.path()));
  try {
    fsync_dir(tmp.path() / "missing");
    FAIL("no error");
  } catch (const esxmirror::util::StorageError& e) {
    CHECK_THAT(e.what(), Catch::Contains((tmp.path() / "missing").string()));
  }
}

TEST_CASE("is_within compares whole path components after normalisation", "[util][fs]") {
  CHECK(is_within("/a/b", "/a/b/c"));
  CHECK(is_within("/a/b", "/a/b/c/d.txt"));
  CHECK(is_within("/a/b", "/a/b"));
  CHECK(is_within("/a/b/", "/a/b/c"));
  CHECK(is_within("/a/b", "/a/b/c/"));
  CHECK(is_within("/a/b", "/a/b/./c"));
  CHECK(is_within("/a/b", "/a/b/c/../d"));
  CHECK(is_within("/a/./b", "/a/b/c"));
  CHECK(is_within("/", "/etc/passwd"));

  CHECK_FALSE(is_within("/a/b", "/a/bc"));
  CHECK_FALSE(is_within("/a/b", "/a/bc/d"));
  CHECK_FALSE(is_within("/a/b", "/a"));
  CHECK_FALSE(is_within("/a/b", "/a/b/.."));
  CHECK_FALSE(is_within("/a/b", "/a/b/../c"));
  CHECK_FALSE(is_within("/a/b", "/a/b/c/../../x"));
  CHECK_FALSE(is_within("/a/b", "/etc/passwd"));

  SECTION("relative paths are taken from the working directory") {
    CHECK(is_within("mirror", "mirror/3.0.1/x"));
    CHECK(is_within(fs::current_path() / "mirror", "mirror/x"));
    CHECK_FALSE(is_within("mirror", "mirror/../elsewhere"));
    CHECK_FALSE(is_within("mirror", "../mirror/x"));
  }
}

TEST_CASE("link_tree recreates a tree of hard links: same files, no data copied, directory modes and times kept",
          "[fs]") {
  esxmirror::testing::TempDir tmp;
  const fs::path from = tmp / "from";
  fs::create_directories(from / "sub" / "deeper");
  std::ofstream(from / "a.rpm") << "rpm bytes";
  std::ofstream(from / "sub" / "deeper" / "b.xml") << "<b/>";
  fs::create_symlink("../a.rpm", from / "sub" / "link");
  fs::permissions(from / "sub", fs::perms(0750));
  const auto sub_time = fs::last_write_time(from / "sub") - std::chrono::hours(24);
  fs::last_write_time(from / "sub", sub_time);

  esxmirror::util::link_tree(from, tmp / "to");
  const fs::path to = tmp / "to";
  CHECK(fs::equivalent(to / "a.rpm", from / "a.rpm"));  // the same inode: a hard link
  CHECK(fs::hard_link_count(from / "a.rpm") == 2);
  CHECK(fs::equivalent(to / "sub" / "deeper" / "b.xml", from / "sub" / "deeper" / "b.xml"));
  REQUIRE(fs::is_symlink(to / "sub" / "link"));
  CHECK(fs::read_symlink(to / "sub" / "link") == "../a.rpm");
  CHECK((fs::status(to / "sub").permissions() & fs::perms::all) == fs::perms(0750));
  CHECK(fs::last_write_time(to / "sub") == sub_time);
  // Removing the old tree leaves the new one whole.
  fs::remove_all(from);
  CHECK(slurp(to / "a.rpm") == "rpm bytes");

  CHECK_THROWS_AS(esxmirror::util::link_tree(tmp / "missing", tmp / "other"), esxmirror::util::StorageError);
  CHECK_THROWS_AS(esxmirror::util::link_tree(to, to / "sub"), esxmirror::util::StorageError);  // the target exists
}
