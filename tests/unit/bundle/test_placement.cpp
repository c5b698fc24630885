// bundle/placement: names of bundle directories, atomic placement of directories and links.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "esxmirror/bundle/placement.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using namespace esxmirror::bundle;

using esxmirror::testing::TempDir;

namespace {

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
}

// A staging directory holding one bundle: ESX-1/descriptor.xml with `marker` inside.
fs::path make_staging(const fs::path& staging_root, const std::string& name, const std::string& marker) {
  const fs::path dir = staging_root / name;
  write(dir / "ESX-1" / "descriptor.xml", marker);
  write(dir / "ESX-1" / "rpms" / "a.rpm", std::string(4096, 'r'));
  return dir;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("safe path components", "[bundle][placement]") {
  CHECK(is_safe_component("ESX-1000039"));
  CHECK(is_safe_component("2007-03-29_ESX-1000039"));
  CHECK(is_safe_component("3.0.1"));
  CHECK(is_safe_component("a b"));

  CHECK_FALSE(is_safe_component(""));
  CHECK_FALSE(is_safe_component("."));
  CHECK_FALSE(is_safe_component(".."));
  CHECK_FALSE(is_safe_component(".hidden"));
  CHECK_FALSE(is_safe_component(".esxmirror"));
  CHECK_FALSE(is_safe_component("a/b"));
  CHECK_FALSE(is_safe_component("../x"));
  CHECK_FALSE(is_safe_component("a\\b"));
  CHECK_FALSE(is_safe_component(std::string("a\0b", 3)));
  CHECK_FALSE(is_safe_component("line\nbreak"));
  CHECK_FALSE(is_safe_component(std::string(256, 'x')));
  CHECK(is_safe_component(std::string(255, 'x')));
}

TEST_CASE("bundle directory names", "[bundle][placement]") {
  CHECK(bundle_dir_name(std::string("2007-03-29"), "ESX-1000039") == "2007-03-29_ESX-1000039");
  CHECK(bundle_dir_name(std::nullopt, "ESX-1000039") == "undated_ESX-1000039");
}

TEST_CASE("place_directory moves a bundle to a new place", "[bundle][placement]") {
  TempDir tmp;
  const fs::path staging_root = tmp.path() / ".esxmirror" / "staging";
  const fs::path staging = make_staging(staging_root, "job-1", "new");
  const fs::path final_dir = tmp.path() / "3.0.1" / "2007-03-29_ESX-1";

  CHECK_FALSE(place_directory(staging, final_dir));
  CHECK(slurp(final_dir / "ESX-1" / "descriptor.xml") == "new");
  CHECK(fs::file_size(final_dir / "ESX-1" / "rpms" / "a.rpm") == 4096);
  CHECK_FALSE(fs::exists(staging));
  CHECK(fs::is_empty(staging_root));
}

TEST_CASE("place_directory replaces an existing bundle as a whole", "[bundle][placement]") {
  TempDir tmp;
  const fs::path staging_root = tmp.path() / ".esxmirror" / "staging";
  const fs::path final_dir = tmp.path() / "3.0.1" / "2007-03-29_ESX-1";
  write(final_dir / "ESX-1" / "descriptor.xml", "old");
  write(final_dir / "ESX-1" / "only-in-old.rpm", "stale");

  const fs::path staging = make_staging(staging_root, "job-2", "new");
  CHECK(place_directory(staging, final_dir));
  CHECK(slurp(final_dir / "ESX-1" / "descriptor.xml") == "new");
  CHECK_FALSE(fs::exists(final_dir / "ESX-1" / "only-in-old.rpm"));
  CHECK_FALSE(fs::exists(fs::symlink_status(staging)));
  CHECK(fs::is_empty(staging_root));
  CHECK(names_in(final_dir.parent_path()) == std::vector<std::string>{"2007-03-29_ESX-1"});
}

TEST_CASE("place_directory replaces a link with a real directory", "[bundle][placement]") {
  TempDir tmp;
  const fs::path shared = tmp.path() / "3.0.1" / "2007-08-14_ESX-2";
  write(shared / "ESX-2" / "descriptor.xml", "shared copy");
  const fs::path final_dir = tmp.path() / "3.0.2" / "2007-08-14_ESX-2";
  fs::create_directories(final_dir.parent_path());
  fs::create_directory_symlink("../3.0.1/2007-08-14_ESX-2", final_dir);

  const fs::path staging = make_staging(tmp.path() / "staging", "job-3", "own copy");
  CHECK(place_directory(staging, final_dir));
  CHECK(fs::is_directory(fs::symlink_status(final_dir)));
  CHECK(slurp(final_dir / "ESX-1" / "descriptor.xml") == "own copy");
  CHECK(slurp(shared / "ESX-2" / "descriptor.xml") == "shared copy");  // the link's target is untouched
  CHECK(fs::is_empty(tmp.path() / "staging"));
}

TEST_CASE("readers never miss a bundle while it is replaced", "[bundle][placement]") {
  TempDir tmp;
  const fs::path final_dir = tmp.path() / "3.0.1" / "2007-03-29_ESX-1";
  write(final_dir / "ESX-1" / "descriptor.xml", "v0");

  std::atomic<bool> done{false};
  std::atomic<int> misses{0};
  std::thread reader([&] {
    while (!done) {
      const std::string content = slurp(final_dir / "ESX-1" / "descriptor.xml");
      if (content.empty()) ++misses;
    }
  });
  for (int i = 1; i <= 50; ++i) {
    const fs::path staging = make_staging(tmp.path() / "staging", "job-" + std::to_string(i), "v" + std::to_string(i));
    place_directory(staging, final_dir);
  }
  done = true;
  reader.join();
  CHECK(misses == 0);
  CHECK(slurp(final_dir / "ESX-1" / "descriptor.xml") == "v50");
}

TEST_CASE("place_directory reports what it cannot place", "[bundle][placement]") {
  TempDir tmp;
  const fs::path final_dir = tmp.path() / "3.0.1" / "x";
  try {
    place_directory(tmp.path() / "no-such-staging", final_dir);
    FAIL("no error");
  } catch (const esxmirror::util::StorageError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("cannot place " + final_dir.string() + ": "));
  }

  SECTION("a file where the version directory should be") {
    write(tmp.path() / "blocked", "file");
    const fs::path staging = make_staging(tmp.path() / "staging", "job", "new");
    CHECK_THROWS_AS(place_directory(staging, tmp.path() / "blocked" / "x"), esxmirror::util::StorageError);
    CHECK(fs::exists(staging / "ESX-1" / "descriptor.xml"));  // nothing lost
  }
}

TEST_CASE("place_link makes a relative link that resolves", "[bundle][placement]") {
  TempDir tmp;
  const fs::path target = tmp.path() / "3.0.1" / "2007-08-14_ESX-2";
  write(target / "ESX-2" / "descriptor.xml", "shared");
  const fs::path link = tmp.path() / "3.0.2" / "2007-08-14_ESX-2";

  place_link(target, link);
  CHECK(fs::is_symlink(link));
  CHECK(fs::read_symlink(link) == fs::path("../3.0.1/2007-08-14_ESX-2"));
  CHECK(slurp(link / "ESX-2" / "descriptor.xml") == "shared");
  CHECK(names_in(link.parent_path()) == std::vector<std::string>{"2007-08-14_ESX-2"});

  SECTION("the mirror can move: the link is relative") {
    fs::rename(tmp.path(), tmp.path().string() + "-moved");
    const fs::path moved = fs::path(tmp.path().string() + "-moved");
    CHECK(slurp(moved / "3.0.2" / "2007-08-14_ESX-2" / "ESX-2" / "descriptor.xml") == "shared");
    fs::rename(moved, tmp.path());
  }
  SECTION("relative arguments give the same link") {
    const fs::path cwd = fs::current_path();
    fs::current_path(tmp.path());
    place_link("3.0.1/2007-08-14_ESX-2", "3.5.0/2007-08-14_ESX-2");
    fs::current_path(cwd);
    CHECK(fs::read_symlink(tmp.path() / "3.5.0" / "2007-08-14_ESX-2") == fs::path("../3.0.1/2007-08-14_ESX-2"));
  }
}

TEST_CASE("place_link replaces an existing link or an old full copy", "[bundle][placement]") {
  TempDir tmp;
  const fs::path first = tmp.path() / "3.0.1" / "2007-08-14_ESX-2";
  const fs::path second = tmp.path() / "3.0.1u" / "2007-08-14_ESX-2";
  write(first / "ESX-2" / "descriptor.xml", "first");
  write(second / "ESX-2" / "descriptor.xml", "second");
  const fs::path link = tmp.path() / "3.0.2" / "2007-08-14_ESX-2";

  SECTION("re-linking") {
    place_link(first, link);
    place_link(second, link);
    CHECK(fs::read_symlink(link) == fs::path("../3.0.1u/2007-08-14_ESX-2"));
    CHECK(slurp(link / "ESX-2" / "descriptor.xml") == "second");
    CHECK(slurp(first / "ESX-2" / "descriptor.xml") == "first");
    CHECK(names_in(link.parent_path()) == std::vector<std::string>{"2007-08-14_ESX-2"});
  }
  SECTION("an old full copy becomes a link") {
    write(link / "ESX-2" / "descriptor.xml", "old full copy");
    place_link(first, link);
    CHECK(fs::is_symlink(link));
    CHECK(slurp(link / "ESX-2" / "descriptor.xml") == "first");
    CHECK(names_in(link.parent_path()) == std::vector<std::string>{"2007-08-14_ESX-2"});
  }
  SECTION("readers never miss the link while it changes") {
    place_link(first, link);
    std::atomic<bool> done{false};
    std::atomic<int> misses{0};
    std::thread reader([&] {
      while (!done) {
        if (slurp(link / "ESX-2" / "descriptor.xml").empty()) ++misses;
      }
    });
    for (int i = 0; i < 200; ++i) place_link(i % 2 == 0 ? second : first, link);
    done = true;
    reader.join();
    CHECK(misses == 0);
    CHECK(names_in(link.parent_path()) == std::vector<std::string>{"2007-08-14_ESX-2"});
  }
}

TEST_CASE("place_link never replaces its own target", "[bundle][placement]") {
  TempDir tmp;
  const fs::path target = tmp.path() / "3.0.1" / "x";
  write(target / "f", "keep");
  CHECK_THROWS_AS(place_link(target, target), esxmirror::util::StorageError);
  CHECK_THROWS_AS(place_link(target, tmp.path() / "3.0.1"), esxmirror::util::StorageError);
  CHECK(slurp(target / "f") == "keep");
}
